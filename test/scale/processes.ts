import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Real Herald processes for the scale tests: `herald serve` and `herald worker` as the package's
 * bin runs them (bin/herald.js → dist/, so `npm run build` first; `npm test` does), configured
 * only through HERALD_* variables, on loopback.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const bin = join(root, "bin/herald.js");

export type HeraldKind = "serve" | "worker";

/** A running `herald serve` or `herald worker`. */
export interface HeraldProcess {
  readonly kind: HeraldKind;
  readonly name: string;
  readonly pid: number;
  /** Base URL of its HTTP listener (API for serve; /healthz, /readyz, /metrics for both). */
  readonly url: string;
  /** The worker id it leases rows with (printed by `herald worker`; undefined for serve). */
  readonly workerId: string | undefined;
  /** Resolves when the process has exited, with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its stderr so far (for failure messages). */
  stderr(): string;
  /** Whether it is still running. */
  running(): boolean;
  /** Send `signal` and wait for the exit. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Its `herald_deliveries_total{outcome="sent"}` (sends this process finished). */
  sent(): Promise<number>;
}

/** Throws a clear message when dist/ is missing (the bin runs the compiled CLI). */
export function assertBuilt(): void {
  if (!existsSync(join(root, "dist/cli/main.js"))) throw new Error("dist/ is missing: run `npm run build` before the scale tests.");
}

/** Start `herald <kind>` with `env` (plus HERALD_PORT=0); resolves once it prints its URL (within 45 s). */
export async function startHerald(kind: HeraldKind, name: string, env: Record<string, string>): Promise<HeraldProcess> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HERALD_")));
  const child: ChildProcess = spawn(process.execPath, [bin, kind], {
    env: { ...clean, ...env, HERALD_PORT: "0", HERALD_HOST: "127.0.0.1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );
  const pattern =
    kind === "serve" ? /Herald listening on (http:\/\/\S+) / : /Herald worker (\S+) sending \(health and metrics on (http:\/\/\S+?)\)/;
  const match = await new Promise<RegExpExecArray>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`herald ${kind} (${name}) did not start within 45 s; stderr: ${err}`)), 45_000);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        done(m);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      fail(new Error(`herald ${kind} (${name}) exited (${code ?? signal}) before it was ready; stderr: ${err}`));
    });
  });
  const url = (kind === "serve" ? match[1] : match[2]) ?? "";
  const workerId = kind === "worker" ? match[1] : undefined;
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    kind,
    name,
    pid: child.pid ?? -1,
    url,
    workerId,
    exited,
    stderr: () => err,
    running,
    async stop(signal) {
      if (running()) child.kill(signal);
      return exited;
    },
    async sent() {
      const text = await (await fetch(`${url}/metrics`)).text();
      const m = /^herald_deliveries_total\{outcome="sent"\} (\d+)/m.exec(text);
      return Number(m?.[1] ?? Number.NaN);
    },
  };
}

/** A `herald emulator` process and what Herald needs to know of it (read from its control API). */
export interface EmulatorProcess {
  url: string;
  serviceUrl: string;
  tokenUrl: string;
  openIdMetadataUrl: string;
  tokenIssuer: string;
  appId: string;
  stop(): Promise<unknown>;
  stderr(): string;
}

/**
 * Start `herald emulator` on a free port (its own process: the test's own work cannot delay the
 * arrival times it counts limits on) with a generated organisation (`--seed` and `flags`).
 */
export async function startEmulatorProcess(seed: number, flags: string[]): Promise<EmulatorProcess> {
  const child = spawn(process.execPath, [bin, "emulator", "--port", "0", "--seed", String(seed), ...flags], {
    env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HERALD_"))),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err = (err + d.toString()).slice(-20_000);
  });
  const exited = new Promise<unknown>((done) => child.once("exit", done));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`herald emulator did not start within 45 s; stderr: ${err}`)), 45_000);
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /Teams emulator on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        done(m[1]);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`herald emulator exited before it was ready; stderr: ${err}`));
    });
  });
  const summary = (await (await fetch(`${url}/_emulator`)).json()) as {
    appId: string;
    tokenIssuer: string;
    urls: { serviceUrl: string; tokenEndpoint: string; openIdMetadata: string };
  };
  return {
    url,
    serviceUrl: summary.urls.serviceUrl,
    tokenUrl: summary.urls.tokenEndpoint,
    openIdMetadataUrl: summary.urls.openIdMetadata,
    tokenIssuer: summary.tokenIssuer,
    appId: summary.appId,
    stderr: () => err,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      return exited;
    },
  };
}

/** Poll `check` until it returns a value (every 50 ms), or throw `what` after `ms`. */
export async function until<T>(what: string, check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
