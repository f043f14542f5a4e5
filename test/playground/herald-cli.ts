import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { stopChild, waitForOutput } from "../helpers/playground.js";

/** The repository root (this file is test/playground/herald-cli.ts). */
const root = resolve(import.meta.dirname, "../..");
const bin = join(root, "bin/herald.js");
const builtCli = join(root, "dist/cli/main.js");

/** `herald serve` running as its own process, as the README runs it. */
export interface HeraldProcess {
  /** `http://127.0.0.1:<port>`, from the line `herald serve` prints when it listens. */
  url: string;
  /** What it printed so far (its JSON logs go to stderr). */
  output(): string;
  /** SIGTERM (graceful shutdown), SIGKILL at the deadline. */
  close(): Promise<void>;
}

/**
 * Run `node bin/herald.js serve` with exactly `env` (plus PATH). bin/herald.js runs the compiled
 * CLI, so dist/ must be built from the current sources (`npm test` builds first); a missing or
 * stale build fails here rather than testing old code.
 */
export async function startHeraldCli(env: Record<string, string>, timeoutMs = 20_000): Promise<HeraldProcess> {
  assertBuilt();
  const child = spawn(process.execPath, [bin, "serve"], {
    cwd: root,
    env: { PATH: process.env["PATH"] ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let printed = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    printed += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    printed += d;
  });
  try {
    const m = await waitForOutput(child, () => printed, /Herald listening on (http:\/\/\S+) /, timeoutMs);
    return { url: m[1] as string, output: () => printed, close: () => stopChild(child, 20_000) };
  } catch (e) {
    await stopChild(child, 5_000);
    throw new Error(`herald serve did not start: ${(e as Error).message}\n${printed}`);
  }
}

function assertBuilt(): void {
  let built: number;
  try {
    built = statSync(builtCli).mtimeMs;
  } catch {
    throw new Error(`${builtCli} is missing: run \`npm run build\` first (npm test does).`);
  }
  const newer = sources(join(root, "src")).find((f) => statSync(f).mtimeMs > built);
  if (newer) throw new Error(`dist/ is older than ${newer}: run \`npm run build\` first (npm test does).`);
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}
