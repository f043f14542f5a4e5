import { afterAll, beforeAll, expect, it } from "vitest";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * A tenant id typed in upper case is the same tenant (src/domain/tenant.ts). Teams sends tenant
 * GUIDs in lower case and Herald stores chats under them; before, an API caller's `ABC…` was
 * matched exactly against them: a person opted out under it was still messaged, `{all: true,
 * tenantId}` reached nobody, tenant settings were kept apart, and a key limited to the tenant in
 * upper case was refused sending to it in lower case. Over HTTP against the emulator, both back ends.
 */

// biome-ignore lint/suspicious/noExplicitAny: loosely typed JSON for assertions
type Json = Record<string, any>;

forEachStore((stores) => {
  let stack: Stack;
  let users: Json[] = [];
  let tenant = "";
  let upper = "";
  const api = (method: string, path: string, body?: unknown, key = STACK_API_KEY) => call(method, `${stack.heraldUrl}${path}`, body, key);

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

  it("a preference saved under the tenant id in upper case is the person's preference, and is honoured", async () => {
    const ana = users.find((u) => u["name"] === "Ana") as Json;
    const put = await api("PUT", `/v1/users/${encodeURIComponent(ana["id"])}/preferences`, { tenantId: upper, optedOut: true });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    // Read back in either spelling: one record.
    for (const spelling of [tenant, upper]) {
      const got = await api("GET", `/v1/users/${encodeURIComponent(ana["id"])}/preferences?tenantId=${spelling}`);
      expect(got.json["optedOut"], spelling).toBe(true);
    }
    const report = await api("GET", `/v1/reports/opt-outs?tenantId=${upper}`);
    expect((report.json["items"] as Json[]).map((i) => [i["tenantId"], i["userId"]])).toEqual([[tenant, ana["id"]]]);

    // Honoured at sending: a broadcast to everyone skips the person.
    const sent = await api("POST", "/v1/notifications", { audience: { all: true }, message: { text: "hello" } });
    expect(sent.status, JSON.stringify(sent.json)).toBe(202);
    const done = await eventually("the broadcast completes", async () => {
      const n = await api("GET", `/v1/notifications/${sent.json["id"]}`);
      return n.json["status"] === "completed" ? n.json : undefined;
    });
    expect(done["total"]).toBe(users.length);
    expect(done["counts"]).toMatchObject({ sent: users.length - 1, optedOut: 1, failed: 0 });
    const rows = (await api("GET", `/v1/notifications/${sent.json["id"]}/deliveries`)).json["items"] as Json[];
    expect(rows.find((r) => r["userName"] === ana["name"])?.["status"]).toBe("optedOut");
  });

  it("the `all` audience, tenant settings and API keys name the tenant in either letter case", async () => {
    const estimate = await api("POST", "/v1/audiences/estimate", { audience: { all: true, tenantId: upper } });
    expect(estimate.json["recipients"], JSON.stringify(estimate.json)).toBe(users.length);
    const toUpper = await api("POST", "/v1/notifications", { audience: { all: true, tenantId: upper }, message: { text: "hi" } });
    expect(toUpper.status, JSON.stringify(toUpper.json)).toBe(202);
    const reached = await eventually("the broadcast to the tenant completes", async () => {
      const n = await api("GET", `/v1/notifications/${toUpper.json["id"]}`);
      return n.json["status"] === "completed" ? n.json : undefined;
    });
    // Ana opted out in the first test.
    expect(reached).toMatchObject({ total: users.length, counts: { sent: users.length - 1, optedOut: 1 } });

    const put = await api("PUT", `/v1/tenants/${upper}`, { timeZone: "Europe/Paris" });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    const got = await api("GET", `/v1/tenants/${tenant}`);
    expect(got.json).toMatchObject({ tenantId: tenant, timeZone: "Europe/Paris" });

    // A key limited to the tenant in upper case sends to it in lower case, and sees what it sent.
    const created = await api("POST", "/v1/keys", { name: "upper", scopes: ["send", "read"], tenants: [upper] });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json["tenants"]).toEqual([tenant]);
    const key = created.json["key"] as string;
    const sent = await api("POST", "/v1/notifications", { audience: { all: true, tenantId: tenant }, message: { text: "x" } }, key);
    expect(sent.status, JSON.stringify(sent.json)).toBe(202);
    expect((await api("GET", `/v1/notifications/${sent.json["id"]}`, undefined, key)).status).toBe(200);
    // Another tenant stays refused.
    const other = await api(
      "POST",
      "/v1/notifications",
      { audience: { all: true, tenantId: "00000000-0000-0000-0000-00000000000A" }, message: { text: "x" } },
      key,
    );
    expect(other.status).toBe(403);
  });
});
