import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** Start-up mistakes a user makes on the command line: each stops with exit code 2 and says what to do. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(join(tmpdir(), "herald-cli-start-"));
let busy: Server;
let busyPort: number;

beforeAll(async () => {
  busy = createServer();
  await new Promise<void>((done) => busy.listen(0, "127.0.0.1", done));
  const address = busy.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  busyPort = address.port;
});
afterAll(async () => {
  await new Promise<void>((done) => busy.close(() => done()));
  rmSync(dir, { recursive: true, force: true });
});

function herald(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(root, "bin/herald.js"), ...args],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("herald start-up errors", () => {
  it("serve on a port in use exits 2 and names the port and the setting to change", async () => {
    const r = await herald([
      "serve",
      "--port",
      String(busyPort),
      "--inbound-auth",
      "off",
      "--database-url",
      `sqlite:${join(dir, "herald.db")}`,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${busyPort}`);
    expect(r.stderr).toMatch(/HERALD_PORT \/ --port/);
  });

  it("demo refuses a flag that is not a whole number before starting anything", async () => {
    const r = await herald(["demo", "--users", "lots"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--users must be a whole number/);
  });
});

describe("herald send with a bad JSON file", () => {
  it("exits 2 naming the flag and the file, before calling any server", async () => {
    const missing = join(dir, "missing-card.json");
    const r = await herald(["send", "--all", "--card", missing, "--api-key", "k"], { HERALD_URL: "http://127.0.0.1:9" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--card ${missing}: cannot read it as JSON`);
  });
});
