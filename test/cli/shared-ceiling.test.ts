import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * Without Redis each process enforces the whole tenant ceiling, so N processes would send N times
 * too fast: `herald worker` is refused, `herald serve` on PostgreSQL warns. Real processes (dist/);
 * the database URL points at a closed port, so what is checked happens before any connection.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const unreachablePg = "postgres://postgres@127.0.0.1:9/herald";

function herald(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("HERALD_")));
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(root, "bin/herald.js"), ...args],
      { env: { ...clean, HERALD_APP_ID: "app", HERALD_INBOUND_AUTH: "off", ...env }, timeout: 30_000 },
      (error, _stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }),
    );
  });
}

describe("the tenant ceiling across processes", () => {
  it("herald worker without HERALD_REDIS_URL exits 2 and says to set it", async () => {
    const r = await herald(["worker"], { HERALD_DATABASE_URL: unreachablePg });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^herald worker: HERALD_REDIS_URL is not set\./);
    expect(r.stderr).toContain("HERALD_TENANT_RPS=50");
    expect(r.stderr).toContain("HERALD_REDIS_URL=redis://");
  });

  it("herald worker with HERALD_TENANT_RPS=0 (no ceiling to share) is not refused for Redis", async () => {
    const r = await herald(["worker", "--tenant-rps", "0"], { HERALD_DATABASE_URL: unreachablePg });
    expect(r.stderr).not.toContain("HERALD_REDIS_URL");
  });

  it("herald serve on PostgreSQL without Redis warns that the ceiling is per process", async () => {
    const r = await herald(["serve", "--port", "0"], { HERALD_DATABASE_URL: unreachablePg });
    const warning = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { level?: unknown; msg?: string })
      .find((l) => l.msg?.includes("HERALD_REDIS_URL is not set"));
    expect(warning?.msg).toContain("enforced by this process alone");
  });
});
