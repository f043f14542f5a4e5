import { afterAll, beforeAll, expect, it } from "vitest";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

type Json = Record<string, unknown>;

/** `POST /v1/notifications/test` is a real message without approval: who may send it, where, and how often. */
forEachStore((stores) => {
  let stack: Stack;
  let url: string;
  /** Two tenants' people: their user ids by tenant. */
  const people = new Map<string, { id: string; conversationId: string }[]>();
  let tenantA: string;
  let tenantB: string;
  const key = async (name: string, scopes: string[], tenants?: string[]) => {
    const r = await call("POST", `${url}/v1/keys`, { name, scopes, ...(tenants ? { tenants } : {}) }, STACK_API_KEY);
    expect(r.status).toBe(201);
    return String(r.json["key"]);
  };
  const test = (body: Json, k: string) => call("POST", `${url}/v1/notifications/test`, body, k);

  beforeAll(async () => {
    stack = await startStack(await stores.open(), {
      emulator: { org: { tenants: 2, users: 4, teams: 0, blockedShare: 0, uninstalledShare: 0 } },
    });
    url = stack.heraldUrl;
    await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
    const items = await eventually("4 personal chats", async () => {
      const list = (await call("GET", `${url}/v1/conversations?kind=personal`, undefined, STACK_API_KEY)).json["items"] as {
        id: string;
        tenantId: string;
        user: { id: string };
      }[];
      return list.length === 4 ? list : undefined;
    });
    for (const i of items) people.set(i.tenantId, [...(people.get(i.tenantId) ?? []), { id: i.user.id, conversationId: i.id }]);
    [tenantA, tenantB] = [...people.keys()].sort() as [string, string];
    expect(people.get(tenantB)?.length).toBeGreaterThan(0);
  }, 60_000);
  afterAll(() => stack?.close());

  it("refuses a draft-only key (403 saying it needs send, or use the preview); a send key may", async () => {
    const me = people.get(tenantA)![0]!;
    const body = { userId: me.id, tenantId: tenantA, message: { text: "Draft author's test" } };
    const refused = await test(body, await key("author", ["draft"]));
    expect(refused.status).toBe(403);
    expect(refused.json["error"]).toMatchObject({ code: "HERALD_E_FORBIDDEN" });
    const message = String((refused.json["error"] as Json)["message"]);
    expect(message).toContain('"send"');
    expect(message).toContain("preview");
    expect((await test(body, await key("sender", ["send"]))).status).toBe(202);
    expect((await test(body, STACK_API_KEY)).status).toBe(202);
  });

  it("keeps a tenant-limited key within its tenants", async () => {
    const limited = await key("limited sender", ["send"], [tenantA]);
    const other = people.get(tenantB)![0]!;
    const mine = people.get(tenantA)![0]!;
    // No tenant named: a limited key must name one.
    const unnamed = await test({ userId: mine.id, message: { text: "x" } }, limited);
    expect(unnamed.status).toBe(400);
    expect(unnamed.json["error"]).toMatchObject({ code: "HERALD_E_TENANT_REQUIRED" });
    // Another tenant named.
    const elsewhere = await test({ userId: other.id, tenantId: tenantB, message: { text: "x" } }, limited);
    expect(elsewhere.status).toBe(403);
    // Its own tenant named, with another tenant's person: looked up within its own tenant only, so
    // nobody is messaged (the test is accepted and ends with nothing sent).
    const smuggled = await test({ userId: other.id, tenantId: tenantA, message: { text: "Smuggled test" } }, limited);
    expect(smuggled.status).toBe(202);
    const n = await eventually("the test ends", async () => {
      const v = (await call("GET", `${url}/v1/notifications/${smuggled.json["id"]}`, undefined, STACK_API_KEY)).json;
      return v["status"] === "completed" || v["status"] === "failed" ? v : undefined;
    });
    expect(n).toMatchObject({ counts: expect.objectContaining({ sent: 0 }) });
    const res = await fetch(`${stack.emulator.url}/_emulator/conversations/${encodeURIComponent(other.conversationId)}/messages`);
    expect(JSON.stringify(await res.json())).not.toContain("Smuggled test");
    // Within its tenant it may.
    expect((await test({ userId: mine.id, tenantId: tenantA, message: { text: "Mine" } }, limited)).status).toBe(202);
  });

  it("sends once per idempotencyKey: a repeat answers the first test, another body with it is a 409", async () => {
    const sender = await key("idempotent sender", ["send"]);
    const me = people.get(tenantA)![1] ?? people.get(tenantA)![0]!;
    const body = { userId: me.id, tenantId: tenantA, message: { text: "Once only ${givenName}" }, idempotencyKey: "click-1" };
    const first = await test(body, sender);
    expect(first.status).toBe(202);
    const again = await test(body, sender);
    expect(again.status).toBe(202);
    expect(again.json["id"]).toBe(first.json["id"]);
    const conflict = await test({ ...body, message: { text: "Something else" } }, sender);
    expect(conflict.status).toBe(409);
    const bad = await test({ ...body, idempotencyKey: "" }, sender);
    expect(bad.status).toBe(400);
    expect(String((bad.json["error"] as Json)["message"])).toContain("idempotencyKey");
    await eventually("the test is sent", async () => {
      const v = (await call("GET", `${url}/v1/notifications/${first.json["id"]}`, undefined, STACK_API_KEY)).json;
      return v["status"] === "completed" ? v : undefined;
    });
    const res = await fetch(`${stack.emulator.url}/_emulator/conversations/${encodeURIComponent(me.conversationId)}/messages`);
    expect(JSON.stringify(await res.json()).split("Once only ").length - 1).toBe(1);
  });
});
