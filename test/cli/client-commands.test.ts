import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";

/** The client commands as a script would run them: real CLI processes against a running Herald. */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const stores = createStoreFactory("sqlite");
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(await stores.open(), {
    emulator: { org: { tenants: 1, users: 30, teams: 1, blockedShare: 0, uninstalledShare: 0 }, limits: false },
  });
  await fetch(`${stack.emulator.url}/_emulator/install`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ all: true, wait: true }),
  });
  await stack.herald.handler.drain();
});
afterAll(async () => {
  await stack?.close();
  await stores.cleanup();
});

function herald(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(root, "bin/herald.js"), ...args],
      { env: { ...process.env, HERALD_URL: stack.heraldUrl, HERALD_API_KEY: STACK_API_KEY, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("herald client commands", () => {
  it("send --watch follows a broadcast to the end (plain output off a terminal) and exits 0", async () => {
    const r = await herald(["send", "--all", "--text", "Hello from the CLI", "--watch"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/completed total=30 sent=30 pending=0/);
  });

  it("status, deliveries --csv and conversations read what the server knows", async () => {
    const sent = await herald(["send", "--all", "--text", "second", "--idempotency-key", "cli-2"]);
    const { id } = JSON.parse(sent.stdout) as { id: string };
    const watched = await herald(["status", id, "--watch"]);
    expect(watched.stdout).toMatch(/completed/);
    const status = JSON.parse((await herald(["status", id])).stdout) as { total: number; counts: { sent: number } };
    expect(status.counts.sent).toBe(status.total);
    const csv = await herald(["deliveries", id, "--csv"]);
    expect(csv.stdout.split("\n")[0]).toMatch(/status/);
    expect(csv.stdout.trim().split("\n")).toHaveLength(31);
    const conversations = await herald(["conversations", "--kind", "personal"]);
    expect(conversations.stdout.trim().split("\n")).toHaveLength(30);
  });

  it("keys create | list | revoke", async () => {
    const created = JSON.parse((await herald(["keys", "create", "--name", "ci", "--scopes", "read"])).stdout) as {
      id: string;
      key: string;
    };
    expect(created.key).toMatch(/^hk_/);
    expect((await herald(["keys", "list"])).stdout).toContain(created.id);
    expect((await herald(["conversations"], { HERALD_API_KEY: created.key })).code).toBe(0);
    expect((await herald(["keys", "revoke", created.id])).code).toBe(0);
    const after = await herald(["conversations"], { HERALD_API_KEY: created.key });
    expect(after.code).toBe(1);
    expect(after.stderr).toMatch(/401/);
  });

  it("keys create --teams --groups limits the audiences a key reaches", async () => {
    const created = JSON.parse(
      (await herald(["keys", "create", "--name", "team-only", "--scopes", "send", "--teams", "19:t1@thread.tacv2", "--groups", "g1,g2"]))
        .stdout,
    ) as { teams: string[]; groups: string[] };
    expect(created.teams).toEqual(["19:t1@thread.tacv2"]);
    expect(created.groups).toEqual(["g1", "g2"]);
  });

  it("send --teams <Entra group id> --tenant posts in the team Herald knows by that group id (issue 15)", async () => {
    const team = stack.emulator.org.teams[0]!;
    await fetch(`${stack.emulator.url}/_emulator/install`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ teamId: team.id, wait: true }),
    });
    await stack.herald.handler.drain();
    const tenant = stack.emulator.org.tenants[0]!.id;
    const sent = await herald(["send", "--teams", team.aadGroupId, "--tenant", tenant, "--text", "By group id", "--watch"]);
    expect(sent.stderr).toBe("");
    expect(sent.stdout).toMatch(/completed total=1 sent=1 pending=0/);
  });

  it("exit codes scripts can rely on: 2 for bad usage, 3 when the server is unreachable", async () => {
    const usage = await herald(["send", "--text", "no audience"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/exactly one audience/);
    const invalid = await herald(["send", "--users", "29:x", "--text", ""]);
    expect(invalid.code).toBe(2);
    const down = await herald(["status", "n_x"], { HERALD_URL: "http://127.0.0.1:9" });
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/Cannot reach Herald/);
  });
});

describe("apiUrl", () => {
  it("keeps a path prefix of the base URL and the query", async () => {
    const { apiUrl } = await import("../../src/cli/http-client.js");
    expect(apiUrl("http://h:1/herald/", "/v1/x?a=1").toString()).toBe("http://h:1/herald/v1/x?a=1");
    expect(apiUrl("http://h:1", "/v1/x").toString()).toBe("http://h:1/v1/x");
  });
});
