import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
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
  const child = spawn(process.execPath, [join(root, "bin/herald.js"), "serve"], {
    env: {
      ...process.env,
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

describe("receiveForwardedSignals (in the hosted thread)", () => {
  const module = pathToFileURL(join(root, "dist/cli/young-generation.js")).href;
  /** A worker thread that receives forwarded signals, with `setup` run first; resolves with its exit code after `signal` is posted. */
  async function exitAfter(signal: string, setup: string): Promise<number> {
    const code = `${setup}; import(${JSON.stringify(module)}).then((m) => { m.receiveForwardedSignals(); require("node:worker_threads").parentPort.postMessage("ready"); }); setInterval(() => {}, 1000);`;
    const worker = new Worker(code, { eval: true });
    await new Promise<void>((done) => worker.once("message", () => done()));
    const exited = new Promise<number>((done) => worker.once("exit", done));
    worker.postMessage({ signal });
    return exited;
  }

  it("hands the signal to the command's own listener", async () => {
    expect(await exitAfter("SIGTERM", `process.on("SIGTERM", (s) => process.exit(s === "SIGTERM" ? 7 : 8))`)).toBe(7);
    expect(await exitAfter("SIGINT", `process.on("SIGINT", (s) => process.exit(s === "SIGINT" ? 9 : 8))`)).toBe(9);
  });

  it("ends the thread as the signal's default action would when the command has no listener yet", async () => {
    expect(await exitAfter("SIGTERM", "")).toBe(143);
    expect(await exitAfter("SIGINT", "")).toBe(130);
  });
});
