import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

/**
 * `herald worker` is observable like `herald serve`: `/healthz`, `/readyz` and `/metrics` (with
 * prom-client's default process metrics) on its own port, and SIGTERM stops it cleanly. A real
 * process (dist/) on PostgreSQL (its own schema, through the URL's search_path) and Redis.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const schema = `herald_worker_${randomBytes(5).toString("hex")}`;
const databaseUrl = `${testPostgresUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
let child: ChildProcess | undefined;
let url = "";

beforeAll(async () => {
  await withPostgres((client) => client.query(`create schema "${schema}"`));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HERALD_")));
  const worker = spawn(process.execPath, [join(root, "bin/herald.js"), "worker", "--port", "0"], {
    env: {
      ...env,
      HERALD_APP_ID: "app",
      HERALD_INBOUND_AUTH: "off",
      HERALD_DATABASE_URL: databaseUrl,
      HERALD_REDIS_URL: "redis://127.0.0.1:6379",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = worker;
  let out = "";
  let err = "";
  worker.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`herald worker did not start within 30 s; stderr: ${err}`)), 30_000);
    worker.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /health and metrics on (http:\/\/\S+?)\)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        done(m[1]);
      }
    });
    worker.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`herald worker exited ${code}; stderr: ${err}`));
    });
  });
}, 40_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await withPostgres((client) => client.query(`drop schema if exists "${schema}" cascade`));
});

it("answers /healthz and /readyz", async () => {
  const health = await fetch(`${url}/healthz`);
  expect(health.status).toBe(200);
  const ready = await fetch(`${url}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({ status: "ready" });
});

it("serves its own metrics, the engine's and prom-client's process metrics, and nothing of the API", async () => {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  expect(text).toMatch(/^herald_delivery_in_flight 0$/m);
  expect(text).toMatch(/^herald_delivery_credentials_ok 1$/m);
  expect(text).toMatch(/^herald_delivery_fenced 0$/m);
  expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
  expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
  expect((await fetch(`${url}/v1/notifications`)).status).toBe(404);
  expect((await fetch(`${url}/api/messages`, { method: "POST", body: "{}" })).status).toBe(404);
});

it("stops on SIGTERM with exit code 0", async () => {
  const worker = child;
  if (!worker) throw new Error("no worker");
  const exited = new Promise<number | null>((done) => worker.once("exit", (code) => done(code)));
  worker.kill("SIGTERM");
  expect(await exited).toBe(0);
});
