import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { InFlightPolicy, Notification } from "../../src/delivery/model.js";
import type { NotificationRequest } from "../../src/delivery/request.js";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const register = fileURLToPath(new URL("../delivery/helpers/ts-register.mjs", import.meta.url));
const serveScript = fileURLToPath(new URL("./fixtures/serve-batch.ts", import.meta.url));
const apiKey = "batch-takeover-key-0123456789";
const admin = { keyId: "test-admin" } as const;
const finished = (n: Notification): boolean => !n.active;

/** A Herald with the batch path in a child process: SIGKILL ends it with no graceful stop. */
interface Child {
  workerId: string;
  post(path: string, body: unknown): Promise<{ status: number; json: { id?: string } }>;
  kill(): Promise<void>;
}

async function startChild(env: Record<string, string>): Promise<Child> {
  const child: ChildProcess = spawn(process.execPath, ["--import", register, serveScript], {
    env: { ...process.env, ...env, API_KEY: apiKey },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const [port, workerId] = await new Promise<[number, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start in 30 s: ${err}`)), 30_000);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+) (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve([Number(m[1]), m[2]!]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code} before it was ready: ${err}`));
    });
  });
  return {
    workerId,
    async post(path, body) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : {} };
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Poll `check` every 25 ms until it holds (no sleeps: a deadline). */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// A child process starts in several seconds on a loaded machine: the tests with one get 90 s.

/**
 * Several Herald processes on one PostgreSQL schema: the batch work of a process that died is
 * taken over by a LIVE one (its periodic sweep, judging the owner by its heartbeat on the
 * database's clock), exactly once; and a live process waiting out a long Retry-After is never
 * taken for dead.
 */
describe("postgres store", () => {
  const stores = createStoreFactory("postgres");
  let h: BatchHarness | undefined;
  const children: Child[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await h?.close();
    h = undefined;
  });
  afterAll(() => stores.cleanup());

  const USERS = 60;
  // The live process looks for new work rarely (its batch sweep runs every heartbeat regardless): it does not
  // race the other process for the rows of the notification that process just accepted (some would go one by one).
  const quiet = { pollMs: 5_000 };
  const users = Array.from({ length: USERS }, (_, i) => i);
  const setup = async (): Promise<{ store: Store; hh: BatchHarness }> => {
    const store = await stores.open();
    const hh = await startBatchHarness(store, { org: { users: USERS, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    await hh.seedUsers(users);
    h = hh;
    return { store, hh };
  };
  const request = (hh: BatchHarness, text: string): NotificationRequest => ({
    audience: { users: users.map((i) => hh.emulator.org.user(i).id), tenantId: hh.emulator.org.user(0).tenantId },
    message: { text },
    delivery: { mode: "batch" },
  });
  const child = async (hh: BatchHarness, env: Record<string, string> = {}) => {
    const c = await startChild({
      DB_URL: stores.databaseUrl,
      DB_SCHEMA: stores.options.schema ?? "",
      CONNECTOR_TOKEN_URL: hh.emulator.tokenUrl,
      APP_ID: hh.emulator.appId,
      ...env,
    });
    children.push(c);
    return c;
  };
  const control = async (hh: BatchHarness, method: string, path: string, body?: unknown) => {
    const r = await fetch(`${hh.emulator.url}/_emulator/${path}`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  };

  it("an operation of a process killed after Teams accepted it is polled to its end by a live process: each user once", async () => {
    const { hh } = await setup();
    // The live process starts first: a process that starts later would find the work at its start anyway.
    const live = await hh.engine({ config: quiet });
    // The other never polls (first poll after minutes): it dies with its operation running.
    const doomed = await child(hh, { BATCH_POLL_MS: "600000" });
    const { status, json } = await doomed.post("/v1/notifications", request(hh, "taken over"));
    expect(status).toBe(202);
    const id = json.id!;
    await until("the operation to be on the rows", async () => {
      const rows = await hh.rows(live, id);
      return rows.length === USERS && rows.every((r) => r.status !== "pending" || r.lastErrorCode === "batch/running");
    });
    await doomed.kill();
    const done = await hh.waitFor(live, id, finished, 30_000);
    expect(done.counts.sent).toBe(USERS);
    for (const i of users) expect(hh.emulator.context.counts.get(i).received).toBe(1);
  }, 90_000);

  for (const policy of ["resend", "unknown"] as const satisfies readonly InFlightPolicy[]) {
    it(`a submit of a process killed while it waits out a 429 follows HERALD_IN_FLIGHT_POLICY=${policy} in a live process`, async () => {
      const { hh } = await setup();
      const live = await hh.engine({ config: { ...quiet, inFlightPolicy: policy } });
      // The first Connector request (the doomed process's submit) is throttled for a minute.
      await control(hh, "PUT", "faults", { status429: 1, count: 1, retryAfterSeconds: 60 });
      const doomed = await child(hh, { IN_FLIGHT_POLICY: policy });
      const { json } = await doomed.post("/v1/notifications", request(hh, `killed mid-submit (${policy})`));
      const id = json.id!;
      await until("the submit to be throttled", async () => {
        const rows = await hh.rows(live, id);
        return hh.counter("fault429") === 1 && rows.length === USERS && rows.every((r) => r.lastErrorCode === "batch/submitting");
      });
      await doomed.kill();
      const done = await hh.waitFor(live, id, finished, 30_000);
      if (policy === "resend") {
        expect(done.counts.sent).toBe(USERS);
        for (const i of users) expect(hh.emulator.context.counts.get(i).received).toBe(1);
      } else {
        expect(done.counts.unknown).toBe(USERS);
        for (const i of users) expect(hh.emulator.context.counts.get(i).received).toBe(0);
      }
    }, 90_000);
  }

  it("a live process waiting out a long Retry-After is not taken for dead (resend): no second copy", async () => {
    const { hh } = await setup();
    const first = await hh.engine({ config: { inFlightPolicy: "resend" } });
    // The submit waits 4 s: four times the stale time (1 s) of the second engine.
    await control(hh, "PUT", "faults", { status429: 1, count: 1, retryAfterSeconds: 4 });
    const { notification } = await first.submit(request(hh, "long wait"), admin);
    await until(
      "the submit's rows to be older than the stale time",
      async () => {
        const rows = await hh.rows(first, notification.id);
        return (
          hh.counter("fault429") === 1 &&
          rows.length === USERS &&
          rows.every((r) => r.lastErrorCode === "batch/submitting" && Date.now() - Date.parse(r.updatedAt) > 1_500)
        );
      },
      10_000,
    );
    // A second process starts (and then sweeps) while the first still waits.
    const second = await hh.engine({ config: { inFlightPolicy: "resend" } });
    const done = await hh.waitFor(second, notification.id, finished, 30_000);
    expect(done.counts.sent).toBe(USERS);
    // The first process's submit went out once its wait was over (whoever sent the rows, that is the one copy).
    await until("the first process's submit", () => hh.counter("batchOperations") >= 1, 15_000);
    for (const i of users) expect(hh.emulator.context.counts.get(i).received).toBe(1);
    expect(hh.counter("batchOperations")).toBe(1);
  });

  it("two live processes sweeping at once adopt a dead process's operation exactly once", async () => {
    const { store, hh } = await setup();
    // A process submits, never polls, and stops: its operation stays on its rows, its worker row is gone.
    const gone = await hh.engine({ batch: { pollMs: 600_000 } });
    const { notification } = await gone.submit(request(hh, "adopt once"), admin);
    await until("the operation to be on the rows", async () =>
      (await hh.rows(gone, notification.id)).every((r) => r.lastErrorCode === "batch/running"),
    );
    await gone.stop();
    const now = Date.now();
    await store.deliveries.heartbeat("live-b", now);
    await store.deliveries.heartbeat("live-c", now);
    const live = (self: string) => ({ self, staleBefore: now - 1_000, now, othersAreDead: false, busy: new Set<string>(), unowned: false });
    const batches = store.batches!;
    const [b, c] = await Promise.all([batches.adoptOperations(live("live-b")), batches.adoptOperations(live("live-c"))]);
    const adopted = [...b, ...c];
    expect(adopted).toHaveLength(1);
    expect(adopted[0]!.rows).toHaveLength(USERS);
    // Once adopted, the rows are a live process's: nobody else takes them.
    expect(await batches.adoptOperations(live("live-c"))).toHaveLength(0);
    expect(await batches.adoptOperations(live("live-b"))).toHaveLength(0);
  });
});
