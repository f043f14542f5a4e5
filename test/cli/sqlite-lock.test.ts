import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

/**
 * Two processes on one SQLite file would each take the other's rows for a dead process's: the
 * second `herald serve` is refused (exit code 2, HERALD_E_STORE_LOCKED), and a SIGKILLed holder
 * leaves no lock behind. Real processes (dist/).
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(join(tmpdir(), "herald-cli-lock-"));
const db = join(dir, "herald.db");
const started: ChildProcess[] = [];
afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  stderr: () => string;
  /** Resolves with "listening" once the server listens, or with its exit code if it exits first; rejects after 30 s. */
  outcome: Promise<"listening" | { code: number | null }>;
}

function serve(): Run {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HERALD_")));
  const child = spawn(process.execPath, [join(root, "bin/herald.js"), "serve", "--port", "0"], {
    env: { ...env, HERALD_APP_ID: "app", HERALD_INBOUND_AUTH: "off", HERALD_DATABASE_URL: `sqlite:${db}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const outcome = new Promise<"listening" | { code: number | null }>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`herald serve neither listened nor exited within 30 s; stderr: ${err}`)), 30_000);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("Herald listening on")) {
        clearTimeout(timer);
        done("listening");
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      done({ code });
    });
  });
  return { child, stderr: () => err, outcome };
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => child.once("exit", () => done()));
}

describe("one Herald process per SQLite file", () => {
  it("refuses a second herald serve on the same file; after SIGKILL of the first a new one starts", async () => {
    const first = serve();
    expect(await first.outcome).toBe("listening");

    const second = serve();
    expect(await second.outcome).toEqual({ code: 2 });
    expect(second.stderr()).toContain("herald serve: HERALD_E_STORE_LOCKED: Another Herald process is using the SQLite database");
    expect(second.stderr()).toContain(realpathSync(db));
    expect(second.stderr()).toContain("use PostgreSQL");

    first.child.kill("SIGKILL");
    await exited(first.child);
    const third = serve();
    expect(await third.outcome).toBe("listening");
    third.child.kill("SIGTERM");
    await exited(third.child);
  });
});
