import { afterAll, beforeAll, expect, it } from "vitest";
import { call, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { type Json, startGraphStack } from "./stack.js";

/**
 * `GET /v1/installations` (the dashboard's Installations page): jobs newest first, paged by an
 * opaque cursor, bad input refused naming the field, a tenant-limited key kept to its tenants;
 * on SQLite and PostgreSQL.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 2, users: 6, teams: 0, blockedShare: 0, uninstalledShare: 1 } },
    });
  });
  afterAll(() => stack?.close());

  const org = () => stack.emulator.org;
  const api = (method: string, path: string, body?: unknown, key = STACK_API_KEY) => call(method, `${stack.heraldUrl}${path}`, body, key);
  const finished = async (id: string): Promise<Json> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await api("GET", `/v1/installations/${id}`);
      if (r.json["status"] !== "running") return r.json;
      if (Date.now() > deadline) throw new Error(`job ${id} still running: ${JSON.stringify(r.json)}`);
      await new Promise((res) => setTimeout(res, 50));
    }
  };

  it("lists jobs newest first across pages, with their counts; refuses a bad cursor or limit; keeps a tenant key to its tenants", async () => {
    const [t0, t1] = org().tenants.map((t) => t.id);
    const ids: string[] = [];
    // One job per user of the first tenant, then one in the second; each finished before the next starts.
    const users = [0, 1, 2, 3, 4, 5].map((i) => org().user(i)).filter((u) => u.tenantId === t0);
    const other = [0, 1, 2, 3, 4, 5].map((i) => org().user(i)).find((u) => u.tenantId === t1)!;
    for (const u of users.slice(0, 2)) {
      const r = await api("POST", "/v1/installations", { users: [u.aadObjectId], tenantId: t0 });
      expect(r.status).toBe(202);
      ids.push(r.json["id"] as string);
      await finished(ids.at(-1)!);
    }
    const r = await api("POST", "/v1/installations", { users: [other.aadObjectId], tenantId: t1 });
    ids.push(r.json["id"] as string);
    await finished(ids.at(-1)!);

    const first = await api("GET", "/v1/installations?limit=2");
    expect(first.status).toBe(200);
    const items = first.json["items"] as Json[];
    expect(items.map((j) => j["id"])).toEqual([ids[2], ids[1]]);
    expect(items[0]).toMatchObject({ status: "completed", tenantId: t1, total: 1, counts: { installed: 1, alreadyInstalled: 0 } });
    const cursor = first.json["nextCursor"] as string;
    expect(typeof cursor).toBe("string");
    const second = await api("GET", `/v1/installations?limit=2&cursor=${encodeURIComponent(cursor)}`);
    expect((second.json["items"] as Json[]).map((j) => j["id"])).toEqual([ids[0]]);
    expect(second.json["nextCursor"]).toBeNull();

    const byTenant = await api("GET", `/v1/installations?tenantId=${t0}`);
    expect((byTenant.json["items"] as Json[]).map((j) => j["id"])).toEqual([ids[1], ids[0]]);

    const badCursor = await api("GET", "/v1/installations?cursor=nonsense");
    expect(badCursor.status).toBe(400);
    expect((badCursor.json["error"] as Json)["code"]).toBe("HERALD_E_BAD_CURSOR");
    const badLimit = await api("GET", "/v1/installations?limit=0");
    expect(badLimit.status).toBe(400);
    expect((badLimit.json["error"] as Json)["message"]).toMatch(/limit/);
    const unknown = await api("GET", "/v1/installations?state=x");
    expect(unknown.status).toBe(400);

    // A key limited to the second tenant sees its job only, and is refused the first tenant by name.
    const key = await api("POST", "/v1/keys", { name: "t1-admin", scopes: ["admin"], tenants: [t1] });
    expect(key.status).toBe(201);
    const limited = key.json["key"] as string;
    const mine = await api("GET", "/v1/installations", undefined, limited);
    expect((mine.json["items"] as Json[]).map((j) => j["id"])).toEqual([ids[2]]);
    const refused = await api("GET", `/v1/installations?tenantId=${t0}`, undefined, limited);
    expect(refused.status).toBe(403);
  });
});
