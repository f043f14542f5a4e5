import { afterAll, beforeAll, expect, it } from "vitest";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Herald matches tenant ids exactly, and Teams sends them (and Herald stores its chats under them)
 * in lower case. A tenant id typed in upper case was accepted and without effect: a preference
 * saved under it was ignored at sending (the person who had opted out was messaged), and a
 * broadcast to `{all: true, tenantId}` reached nobody. Such requests are now refused with 400
 * naming the spelling to use (tenantSpellingMessage), after the key's tenant limits; reads are
 * not. Over HTTP against the emulator, both back ends.
 */

// biome-ignore lint/suspicious/noExplicitAny: loosely typed JSON for assertions
type Json = Record<string, any>;

forEachStore((stores) => {
  let stack: Stack;
  let users: Json[] = [];
  let tenant = "";
  let upper = "";
  const api = (method: string, path: string, body?: unknown) => call(method, `${stack.heraldUrl}${path}`, body, STACK_API_KEY);
  const refused = (r: { status: number; json: Json }, field: string) => {
    expect(r.status, JSON.stringify(r.json)).toBe(400);
    expect(r.json["error"]["code"]).toBe("HERALD_E_TENANT_SPELLING");
    expect(r.json["error"]["message"]).toContain(`${field}: Herald's chats of this tenant are stored as "${tenant}", not "${upper}"`);
  };

  beforeAll(async () => {
    stack = await startStack(await stores.open(), {
      emulator: {
        limits: false,
        seed: 5,
        orgData: { tenants: [{ name: "Fabrikam", users: ["Ana", "Ben", "Cal", "Dee"].map((name) => ({ name })) }] },
      },
      delivery: { pollMs: 50 },
    });
    const control = (method: string, path: string, body?: unknown) => call(method, `${stack.emulator.url}/_emulator${path}`, body);
    users = (await control("GET", "/users?limit=10")).json["users"] as Json[];
    tenant = users[0]?.["tenantId"] as string;
    upper = tenant.toUpperCase();
    expect(tenant).toMatch(/^[0-9a-f-]{36}$/);
    expect((await control("POST", "/install", { all: true, wait: true })).status).toBeLessThan(300);
    await eventually("every chat stored", async () => {
      const r = await api("GET", "/v1/conversations?kind=personal&limit=10");
      return (r.json["items"] as Json[]).length === users.length ? true : undefined;
    });
  });
  afterAll(() => stack?.close());

  it("a preference under the tenant id in another letter case is refused, naming the spelling; in the stored one it is honoured", async () => {
    const ana = users.find((u) => u["name"] === "Ana") as Json;
    const prefs = `/v1/users/${encodeURIComponent(ana["id"])}/preferences`;
    refused(await api("PUT", prefs, { tenantId: upper, optedOut: true }), "tenantId");
    refused(await api("PUT", `${prefs}?tenantId=${upper}`, { optedOut: true }), "tenantId");
    // Nothing was stored.
    expect((await api("GET", `${prefs}?tenantId=${tenant}`)).json["optedOut"]).toBe(false);
    expect((await api("GET", `/v1/reports/opt-outs`)).json["items"]).toEqual([]);

    expect((await api("PUT", prefs, { tenantId: tenant, optedOut: true })).status).toBe(200);
    const sent = await api("POST", "/v1/notifications", { audience: { all: true }, message: { text: "hello" } });
    expect(sent.status, JSON.stringify(sent.json)).toBe(202);
    const done = await eventually("the broadcast completes", async () => {
      const n = await api("GET", `/v1/notifications/${sent.json["id"]}`);
      return n.json["status"] === "completed" ? n.json : undefined;
    });
    expect(done).toMatchObject({ total: users.length, counts: { sent: users.length - 1, optedOut: 1, failed: 0 } });
    // Reads in another spelling are answered (what an earlier release stored under it stays readable).
    expect((await api("GET", `${prefs}?tenantId=${upper}`)).status).toBe(200);
    // A tenant Herald has no chat of, in any letter case, is taken as given.
    expect((await api("PUT", prefs, { tenantId: "0000000A-0000-0000-0000-000000000000", optedOut: true })).status).toBe(200);
  });

  it("a broadcast to {all, tenantId}, its estimate, a series, a draft and tenant settings naming the tenant in another letter case are refused", async () => {
    const before = (await api("GET", "/v1/notifications?limit=100")).json["items"] as Json[];
    refused(
      await api("POST", "/v1/notifications", { audience: { all: true, tenantId: upper }, message: { text: "x" } }),
      "audience.tenantId",
    );
    refused(await api("POST", "/v1/audiences/estimate", { audience: { all: true, tenantId: upper } }), "audience.tenantId");
    refused(await api("PUT", `/v1/tenants/${upper}`, { timeZone: "Europe/Paris" }), "the tenant id in the path");
    // A series and a draft are refused when saved, not first at each run or at approval.
    const everyone = { all: true, tenantId: upper };
    refused(
      await api("POST", "/v1/series", { audience: everyone, message: { text: "x" }, schedule: { cron: "0 9 * * 1" } }),
      "audience.tenantId",
    );
    refused(
      await api("POST", "/v1/drafts", { title: "All", request: { audience: everyone, message: { text: "x" } } }),
      "request.audience.tenantId",
    );
    const series = await api("POST", "/v1/series", {
      audience: { all: true, tenantId: tenant },
      message: { text: "x" },
      schedule: { cron: "0 9 * * 1" },
    });
    expect(series.status, JSON.stringify(series.json)).toBe(201);
    refused(await api("PATCH", `/v1/series/${series.json["id"]}`, { audience: everyone }), "audience.tenantId");
    // Nothing was created or kept.
    expect(((await api("GET", "/v1/series")).json["items"] as Json[]).map((x) => x["id"])).toEqual([series.json["id"]]);
    expect((await api("GET", `/v1/series/${series.json["id"]}`)).json["audience"]).toEqual({ all: true, tenantId: tenant });
    expect((await api("GET", "/v1/drafts")).json["items"]).toEqual([]);
    expect((await api("GET", "/v1/notifications?limit=100")).json["items"]).toEqual(before);
    expect((await api("GET", `/v1/tenants/${upper}`)).json["timeZone"]).toBeNull();
    // The stored spelling works.
    expect((await api("POST", "/v1/audiences/estimate", { audience: { all: true, tenantId: tenant } })).json["recipients"]).toBe(
      users.length,
    );
    expect((await api("PUT", `/v1/tenants/${tenant}`, { timeZone: "Europe/Paris" })).status).toBe(200);

    // A key limited to another tenant learns nothing of this one: 403 comes first, never the spelling.
    const other = await api("POST", "/v1/keys", {
      name: "other",
      scopes: ["send", "read"],
      tenants: ["0000000b-0000-0000-0000-000000000000"],
    });
    expect(other.status, JSON.stringify(other.json)).toBe(201);
    const as = (method: string, path: string, body: unknown) =>
      call(method, `${stack.heraldUrl}${path}`, body, other.json["key"] as string);
    for (const [method, path, body] of [
      ["POST", "/v1/notifications", { audience: { all: true, tenantId: upper }, message: { text: "x" } }],
      ["POST", "/v1/audiences/estimate", { audience: { all: true, tenantId: upper } }],
      ["PUT", `/v1/users/${encodeURIComponent(users[1]?.["id"])}/preferences`, { tenantId: upper, optedOut: true }],
    ] as const) {
      const r = await as(method, path, body);
      expect(r.status, `${path}: ${JSON.stringify(r.json)}`).toBe(403);
    }
  });
});
