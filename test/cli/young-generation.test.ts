import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { defaultYoungGenerationMb, youngGenerationFor } from "../../src/cli/young-generation.js";

/**
 * `herald serve` and `herald worker` run in a worker thread with a larger V8 young generation
 * (src/cli/young-generation.ts): which commands, how an operator opts out or sizes it, and that the
 * hosted command behaves as one process (its logs to the last line, signals, exit codes).
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(join(tmpdir(), "herald-young-"));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("youngGenerationFor", () => {
  it("hosts serve and worker with the default size, nothing else", () => {
    expect(defaultYoungGenerationMb).toBe(96);
    expect(youngGenerationFor(["serve"], {}, [])).toBe(96);
    expect(youngGenerationFor(["worker", "--port", "0"], {}, [])).toBe(96);
    for (const args of [["demo"], ["emulator"], ["send", "--text", "hi"], [], ["serve", "--help"], ["worker", "-h"]])
      expect(youngGenerationFor(args, {}, []), args.join(" ")).toBeUndefined();
  });

  it("takes HERALD_YOUNG_GENERATION_MB; 0 runs the command in the main thread", () => {
    expect(youngGenerationFor(["serve"], { HERALD_YOUNG_GENERATION_MB: "64" }, [])).toBe(64);
    expect(youngGenerationFor(["serve"], { HERALD_YOUNG_GENERATION_MB: " 128 " }, [])).toBe(128);
    expect(youngGenerationFor(["serve"], { HERALD_YOUNG_GENERATION_MB: "" }, [])).toBe(96);
    expect(youngGenerationFor(["serve"], { HERALD_YOUNG_GENERATION_MB: "0" }, [])).toBeUndefined();
  });

  it("refuses a size that is not a whole number of MB from 0 to 4096, naming the variable", () => {
    for (const bad of ["lots", "-1", "1.5", "4097", "1e9"])
      expect(() => youngGenerationFor(["serve"], { HERALD_YOUNG_GENERATION_MB: bad }, []), bad).toThrow(
        new RegExp(`HERALD_YOUNG_GENERATION_MB must be a whole number of MB from 0 to 4096 \\(got "${bad.replace(".", "\\.")}"\\)`),
      );
  });

  it("leaves the young generation to an operator who sized it (node flag or NODE_OPTIONS)", () => {
    expect(youngGenerationFor(["serve"], {}, ["--max-semi-space-size=64"])).toBeUndefined();
    expect(youngGenerationFor(["serve"], {}, ["--max_semi_space_size=64"])).toBeUndefined();
    expect(youngGenerationFor(["serve"], { NODE_OPTIONS: "--enable-source-maps --max-semi-space-size=32" }, [])).toBeUndefined();
    expect(youngGenerationFor(["serve"], { NODE_OPTIONS: "--enable-source-maps" }, ["--cpu-prof"])).toBe(96);
  });
});

/** `herald serve` on a fresh SQLite file: resolves with its base URL once it listens. */
function serve(env: Record<string, string>): {
  child: ChildProcess;
  url: Promise<string>;
  exit: Promise<{ code: number | null; stdout: string; stderr: string }>;
} {
  const { NODE_OPTIONS: _options, HERALD_YOUNG_GENERATION_MB: _size, ...inherited } = process.env;
  const child = spawn(process.execPath, [join(root, "bin/herald.js"), "serve"], {
    env: {
      ...inherited,
      HERALD_DATABASE_URL: `sqlite:${join(dir, `h-${children.length}.db`)}`,
      HERALD_PORT: "0",
      HERALD_HOST: "127.0.0.1",
      HERALD_INBOUND_AUTH: "off",
      HERALD_LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const url = new Promise<string>((done, fail) => {
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on (\S+)/.exec(stdout);
      if (m) done(m[1]!);
    });
    child.once("exit", (code) => fail(new Error(`exited ${code} before listening:\n${stderr}`)));
  });
  url.catch(() => undefined); // awaited by the tests that expect it to listen
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((done) =>
    child.once("exit", (code) => done({ code, stdout, stderr })),
  );
  return { child, url, exit };
}

/** The JSON log lines of a process's stderr. */
function logLines(stderr: string): Record<string, unknown>[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("herald serve, hosted", () => {
  it("runs in a worker thread with the larger young generation, answers, and on SIGTERM drains and logs to the last line", async () => {
    const s = serve({});
    const url = await s.url;
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    s.child.kill("SIGTERM");
    const { code, stderr } = await s.exit;
    expect(code).toBe(0);
    const lines = logLines(stderr);
    expect(lines.find((l) => l.msg === "herald listening")?.youngGenerationMb).toBe(96);
    // pino cannot flush its own stderr writer when a worker thread exits: these were lost.
    expect(lines.map((l) => l.msg).slice(-2)).toEqual(["shutting down", "stopped"]);
  }, 60_000);

  it("runs in the main thread with HERALD_YOUNG_GENERATION_MB=0 or an operator's --max-semi-space-size", async () => {
    const envs: Record<string, string>[] = [{ HERALD_YOUNG_GENERATION_MB: "0" }, { NODE_OPTIONS: "--max-semi-space-size=16" }];
    for (const env of envs) {
      const s = serve(env);
      await s.url;
      s.child.kill("SIGINT");
      const { code, stderr } = await s.exit;
      expect(code, JSON.stringify(env)).toBe(0);
      const listening = logLines(stderr).find((l) => l.msg === "herald listening");
      expect(listening, JSON.stringify(env)).toBeDefined();
      expect(listening, JSON.stringify(env)).not.toHaveProperty("youngGenerationMb");
    }
  }, 60_000);

  it("exits 2 before starting anything on a bad HERALD_YOUNG_GENERATION_MB", async () => {
    const s = serve({ HERALD_YOUNG_GENERATION_MB: "big" });
    const { code, stderr } = await s.exit;
    expect(code).toBe(2);
    expect(stderr).toContain('herald serve: HERALD_YOUNG_GENERATION_MB must be a whole number of MB from 0 to 4096 (got "big")');
  }, 60_000);
});

describe("hostInWorker", () => {
  /** test/cli/fixtures/host.mjs: a hosted command in HOSTED_MODE (fixtures/hosted-entry.mjs); resolves once it printed "ready". */
  async function host(env: Record<string, string>, stdio: "pipe" | "slow" = "pipe") {
    const child = spawn(process.execPath, [join(root, "test/cli/fixtures/host.mjs")], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let stdout = "";
    const ready = new Promise<void>((done) => {
      child.stdout?.on("data", (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes("ready\n")) done();
      });
    });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
      child.once("close", (code, signal) => done({ code, signal })),
    );
    await ready;
    // A slow reader: nothing read for 500 ms, so the host's writes wait in the pipe.
    if (stdio === "slow") {
      child.stdout?.pause();
      setTimeout(() => child.stdout?.resume(), 500);
    }
    return { child, exit, stdout: () => stdout };
  }

  it("hands a signal to the command's listener, and keeps its exit code and its last lines for a slow reader", async () => {
    const h = await host({ HOSTED_MODE: "listen", HOSTED_LINES: "2000" }, "slow");
    h.child.kill("SIGTERM");
    const { code } = await h.exit;
    expect(code).toBe(5);
    // process.exit in the host as the thread ended dropped what was still on its way (about 200 of 2,001 lines arrived).
    const lines = h.stdout().trimEnd().split("\n");
    expect(lines.length).toBe(1 + 2000 + 1);
    expect(lines.at(-1)).toBe("last");
  }, 30_000);

  it("ends the process with the signal's default action when the command listens for none", async () => {
    const h = await host({ HOSTED_MODE: "deaf" });
    h.child.kill("SIGTERM");
    expect(await h.exit).toEqual({ code: null, signal: "SIGTERM" });
  }, 30_000);

  it("keeps running when the reader of its stderr goes away (EPIPE), drops what the command writes there, and stops on SIGTERM", async () => {
    const h = await host({ HOSTED_MODE: "chatty" });
    h.child.stderr?.destroy();
    await new Promise((r) => setTimeout(r, 500));
    expect(h.child.exitCode).toBeNull();
    h.child.kill("SIGTERM");
    expect(await h.exit).toEqual({ code: 0, signal: null });
    // The command writes about 11 MB a second: stopped, its stream kept them all (megabytes after 500 ms).
    const waiting = Number(/waiting (\d+)/.exec(h.stdout())?.[1]);
    expect(waiting).toBeLessThan(256 * 1024);
  }, 30_000);
});
