import { Hono } from "hono";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ApiEnv, type ApiKeyVerifier, adminKeyVerifier } from "../../src/api/auth.js";
import { retryRoutes } from "../../src/api/notification-retry.js";
import { notificationRoutes } from "../../src/api/notifications.js";
import { tenantRoutes } from "../../src/api/tenants.js";
import { systemClock } from "../../src/clock.js";
import { forEachStore } from "../helpers/stores.js";
import { addsUp, admin, emulatorControl, finished, type Harness, pollUntil, request, startHarness } from "./helpers/harness.js";

const adminKey = "tenants-test-admin-key-0123456789";
const scopedKey = "tenants-test-scoped-key-0123456789";
const dayMs = 24 * 3_600_000;

/**
 * A tenant whose admin disabled the bot (403 BotDisabledByAdmin): operators see it in
 * `GET /v1/tenants` and resume it; left disabled past HERALD_TENANT_DISABLED_TIMEOUT, its rows
 * end `failed` with Teams' code and the notification completes. The engine's clock is injected
 * so a day passes in a moment.
 */
forEachStore((stores) => {
  let h: Harness;
  let app: Hono<ApiEnv>;
  let offset = 0;
  const clock = { now: () => Date.now() + offset, sleep: systemClock.sleep };
  let tenant0: string;
  let tenant1: string;
  let users0: number[];

  beforeAll(async () => {
    h = await startHarness(await stores.open(), {
      clock,
      emulator: { org: { tenants: 2, users: 40 } },
      config: { tenantDisabledTimeoutMs: dayMs },
    });
    await h.seedUsers(Array.from({ length: 40 }, (_, i) => i));
    tenant0 = h.emulator.org.tenants[0]!.id;
    tenant1 = h.emulator.org.tenants[1]!.id;
    users0 = Array.from({ length: 40 }, (_, i) => i).filter((i) => h.emulator.org.user(i).tenantId === tenant0);
    const adminVerifier = adminKeyVerifier(adminKey);
    const keys: ApiKeyVerifier = {
      async verify(presented) {
        if (presented === scopedKey) return { keyId: "scoped", scopes: ["admin"], tenants: [tenant1] };
        return adminVerifier.verify(presented);
      },
    };
    app = new Hono<ApiEnv>();
    app.route("/", notificationRoutes(h.engine, keys));
    app.route("/", tenantRoutes(h.engine, keys));
    app.route("/", retryRoutes(h.engine, keys));
  });
  afterAll(async () => {
    await h.close();
  });

  const control = (path: string, method: string, body?: unknown) => emulatorControl(h, method, path, body);
  const call = async (method: string, path: string, key = adminKey) => {
    const res = await app.request(path, { method, headers: { authorization: `Bearer ${key}` } });
    // biome-ignore lint/suspicious/noExplicitAny: test bodies are read loosely
    return { status: res.status, json: (await res.json()) as any };
  };
  const conv = (i: number) => h.emulator.org.personalConversationId(i);
  /** Submit to these users of tenant 0 and wait until Teams said BotDisabledByAdmin and nothing is in flight. */
  const submitWhileDisabled = async (users: number[]) => {
    const disabledBefore = h.stats()["disabled"] ?? 0;
    const { notification } = await h.engine.submit(request({ conversations: users.map(conv) }), admin);
    await h.waitFor(notification.id, () => (h.stats()["disabled"] ?? 0) > disabledBefore && h.engine.stats().inFlight === 0);
    return notification.id;
  };

  it("GET /v1/tenants shows a disabled tenant with Teams' code, since when and its waiting rows; POST resume delivers them", async () => {
    await control(`tenants/${tenant0}`, "PATCH", { botDisabled: true });
    const id = await submitWhileDisabled(users0.slice(0, 3));
    const listed = await pollUntil(
      () => call("GET", "/v1/tenants"),
      (r) => r.json.items?.find((t: { tenantId: string }) => t.tenantId === tenant0)?.waiting === 3,
      "tenant 0 listed as disabled with 3 rows waiting",
    );
    expect(listed.status).toBe(200);
    const t0 = listed.json.items.find((t: { tenantId: string }) => t.tenantId === tenant0);
    expect(t0).toMatchObject({ state: "disabled", code: "BotDisabledByAdmin", waiting: 3 });
    expect(Date.parse(t0.since)).toBeGreaterThan(0);
    expect(t0.conversations).toBeGreaterThan(0);
    expect(listed.json.items.find((t: { tenantId: string }) => t.tenantId === tenant1)).toMatchObject({ state: "active", code: null });
    expect((await call("GET", "/v1/tenants?state=disabled")).json.items.map((t: { tenantId: string }) => t.tenantId)).toEqual([tenant0]);
    expect((await call("GET", "/v1/tenants?state=paused")).status).toBe(400);

    // A key limited to tenant 1 sees only tenant 1 and may not resume tenant 0.
    expect((await call("GET", "/v1/tenants", scopedKey)).json.items.map((t: { tenantId: string }) => t.tenantId)).toEqual([tenant1]);
    const refused = await call("POST", `/v1/tenants/${tenant0}/resume`, scopedKey);
    expect(refused.status).toBe(403);
    expect(refused.json.error.code).toBe("HERALD_E_FORBIDDEN");
    expect((await h.engine.get(id))?.counts.pending).toBe(3);

    await control(`tenants/${tenant0}`, "PATCH", { botDisabled: false });
    const resumed = await call("POST", `/v1/tenants/${tenant0}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.json).toMatchObject({ tenantId: tenant0, state: "active", resumed: true });
    const done = await h.waitFor(id, finished);
    expect(done.counts).toMatchObject({ sent: 3, pending: 0 });
    expect(done.status).toBe("completed");
    // Resuming again changes nothing; an unknown tenant is a 404.
    expect((await call("POST", `/v1/tenants/${tenant0}/resume`)).json).toMatchObject({ state: "active", resumed: false });
    const unknown = await call("POST", "/v1/tenants/no-such-tenant/resume");
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe("HERALD_E_NOT_FOUND");
  });

  it("a tenant left disabled past HERALD_TENANT_DISABLED_TIMEOUT: its rows end failed with Teams' code and the notification completes", async () => {
    await control(`tenants/${tenant0}`, "PATCH", { botDisabled: true });
    const id = await submitWhileDisabled(users0.slice(3, 6));
    // Rows wait while the timeout has not passed.
    offset += dayMs - 60_000;
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.engine.get(id))?.counts.pending).toBe(3);
    const disabledAnswers = h.stats()["disabled"];
    offset += 2 * 60_000;
    const done = await h.waitFor(id, finished);
    expect(done.status).toBe("completed");
    expect(done.counts).toMatchObject({ pending: 0, failed: 3 });
    expect(addsUp(done)).toBe(true);
    const rows = (await h.engine.deliveries(id, {}, { limit: 10 })).items;
    expect(rows.map((r) => r.lastErrorCode)).toEqual(["403/BotDisabledByAdmin", "403/BotDisabledByAdmin", "403/BotDisabledByAdmin"]);
    expect(rows[0]?.lastErrorMessage).toMatch(/HERALD_TENANT_DISABLED_TIMEOUT/);
    // Teams was not called again for them.
    expect(h.stats()["disabled"]).toBe(disabledAnswers);
    await control(`tenants/${tenant0}`, "PATCH", { botDisabled: false });
    h.engine.onTenantInteraction(tenant0);
  });
  it("POST resume of a paused tenant Herald has no stored conversation in answers 200 active (it did resume it)", async () => {
    const lonely = "tenant-without-stored-chats";
    await h.store.deliveries.pauseTenant(lonely, "BotDisabledByAdmin", clock.now());
    const listed = await call("GET", "/v1/tenants?state=disabled");
    expect(listed.json.items.find((t: { tenantId: string }) => t.tenantId === lonely)).toMatchObject({
      state: "disabled",
      conversations: 0,
    });
    const resumed = await call("POST", `/v1/tenants/${lonely}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.json).toMatchObject({ tenantId: lonely, state: "active", conversations: 0, resumed: true });
    expect((await h.store.deliveries.tenantPauses()).map((p) => p.tenantId)).not.toContain(lonely);
    // Now it is unknown again.
    expect((await call("POST", `/v1/tenants/${lonely}/resume`)).status).toBe(404);
  });

  it("a key limited to another tenant can neither retry a notification nor resume a tenant outside it; nothing changes", async () => {
    await control("faults", "PUT", { status500: 1 });
    const { notification } = await h.engine.submit(request({ conversations: users0.slice(6, 8).map(conv) }), admin);
    const failed = await h.waitFor(notification.id, finished);
    expect(failed.counts).toMatchObject({ failed: 2, sent: 0 });
    await control("faults", "DELETE");
    const before = users0.slice(6, 8).map((i) => h.received(i).received);
    const retry = await call("POST", `/v1/notifications/${notification.id}/retry`, scopedKey);
    expect(retry.status).toBe(404);
    expect(retry.json.error.code).toBe("HERALD_E_NOT_FOUND");
    const unknownToo = await call("POST", `/v1/notifications/${notification.id}/retry?include=unknown`, scopedKey);
    expect(unknownToo.status).toBe(404);
    await h.store.deliveries.pauseTenant(tenant0, "BotDisabledByAdmin", clock.now());
    const resume = await call("POST", `/v1/tenants/${tenant0}/resume`, scopedKey);
    expect(resume.status).toBe(403);
    expect(resume.json.error.code).toBe("HERALD_E_FORBIDDEN");
    // Nothing changed: still failed, nothing re-sent, the tenant still paused.
    const after = await h.engine.get(notification.id);
    expect(after).toMatchObject({ status: "completed", counts: { failed: 2, sent: 0, pending: 0 } });
    expect(users0.slice(6, 8).map((i) => h.received(i).received)).toEqual(before);
    expect((await h.store.deliveries.tenantPauses()).map((p) => p.tenantId)).toContain(tenant0);
    expect((await call("POST", `/v1/tenants/${tenant0}/resume`)).json).toMatchObject({ state: "active", resumed: true });
  });
});
