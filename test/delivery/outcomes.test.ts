import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory, forEachStore } from "../helpers/stores.js";
import { addsUp, admin, emulatorControl, finished, type Harness, request, startHarness } from "./helpers/harness.js";

/** Each outcome class of the retry table, against the emulator's real answers. */
forEachStore((stores) => {
  let store: Store;
  let h: Harness;
  const org = () => h.emulator.org;
  const control = (path: string, method: string, body?: unknown) => emulatorControl(h, method, path, body);

  beforeAll(async () => {
    store = await stores.open();
    h = await startHarness(store, { emulator: { org: { tenants: 2, users: 200, teams: 2 }, uninstalledAnswer: "mixed" } });
    await h.seedUsers(Array.from({ length: 80 }, (_, i) => i));
  });
  afterAll(async () => {
    await h.close();
  });
  afterEach(async () => {
    await control("faults", "DELETE");
  });

  const conv = (i: number) => org().personalConversationId(i);
  const rows = async (id: string) => (await h.engine.deliveries(id, {}, { limit: 1000 })).items;

  it("403 MessageWritesBlocked → blocked; the conversation is marked and the next broadcast does not call Teams", async () => {
    await control(`users/${encodeURIComponent(org().user(10).id)}`, "PATCH", { blocked: true });
    const { notification } = await h.engine.submit(request({ conversations: [conv(10), conv(11)] }), admin);
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 1, blocked: 1 });
    const row = (await rows(notification.id)).find((r) => r.conversationId === conv(10))!;
    expect(row.lastErrorCode).toBe("403/MessageWritesBlocked");
    const c = await store.conversations.get(conv(10));
    expect(c).toMatchObject({ status: "blocked", statusCode: "MessageWritesBlocked" });
    const blockedAnswers = h.stats()["blocked"];
    const again = await h.engine.submit(request({ conversations: [conv(10)] }), admin);
    const d2 = await h.waitFor(again.notification.id, finished);
    expect(d2.counts.blocked).toBe(1);
    expect(h.stats()["blocked"]).toBe(blockedAnswers);
    const report = await h.engine.blockedReport({}, { limit: 100 });
    expect(report.items.find((b) => b.conversationId === conv(10))).toMatchObject({ status: "blocked", code: "MessageWritesBlocked" });
  });

  it("403 BotNotInConversationRoster / 404 ConversationNotFound → notFound and the conversation uninstalled", async () => {
    // uninstalledAnswer "mixed": even users answer 403 BotNotInConversationRoster, odd ones 404 ConversationNotFound.
    for (const i of [20, 21]) await control(`users/${encodeURIComponent(org().user(i).id)}`, "PATCH", { uninstalled: true });
    const { notification } = await h.engine.submit(request({ conversations: [conv(20), conv(21)] }), admin);
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts.notFound).toBe(2);
    const codes = (await rows(notification.id)).map((r) => r.lastErrorCode).sort();
    expect(codes).toEqual(["403/BotNotInConversationRoster", "404/ConversationNotFound"]);
    expect((await store.conversations.get(conv(20)))?.status).toBe("uninstalled");
    expect((await store.conversations.get(conv(21)))?.status).toBe("uninstalled");
  });

  it("403 ForbiddenOperationException when creating a chat → notFound; 400 BadArgument → failed, not retried", async () => {
    const tenantId = org().user(0).tenantId;
    await control(`users/${encodeURIComponent(org().user(90).id)}`, "PATCH", { uninstalled: true });
    const { notification } = await h.engine.submit(request({ users: [org().user(90).id, "29:not-a-member"], tenantId }), admin);
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts).toMatchObject({ notFound: 1, failed: 1 });
    const byTarget = new Map((await rows(notification.id)).map((r) => [r.targetId, r]));
    expect(byTarget.get(org().user(90).id)?.lastErrorCode).toBe("403/ForbiddenOperationException");
    expect(byTarget.get("29:not-a-member")).toMatchObject({ lastErrorCode: "400/BadArgument", attempts: 1 });
  });

  it("500 → failed after one attempt (Teams documents it as not retryable)", async () => {
    await control("faults", "PUT", { status500: 1 });
    const { notification } = await h.engine.submit(request({ conversations: [conv(30)] }), admin);
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts.failed).toBe(1);
    expect((await rows(notification.id))[0]).toMatchObject({ lastErrorCode: "500/ServiceError", attempts: 1 });
  });

  it("412, 502, 503 and 504 are retried with backoff; every recipient gets the message exactly once", async () => {
    // Connection resets after the request was written are not retried by default: once.test.ts.
    await control("faults", "PUT", { status412: 0.1, status502: 0.1, status503: 0.1, status504: 0.1 });
    const users = Array.from({ length: 40 }, (_, k) => 40 + k);
    const before = users.map((i) => h.received(i).received);
    const { notification } = await h.engine.submit(request({ conversations: users.map(conv) }), admin);
    const done = await h.waitFor(notification.id, finished, 30_000);
    expect(done.counts.sent).toBe(40);
    for (const [k, i] of users.entries()) expect(h.received(i).received).toBe(before[k]! + 1);
    const retried = (await rows(notification.id)).filter((r) => r.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);
    expect(retried.every((r) => r.lastErrorCode !== undefined)).toBe(true);
  });

  it("a transient error that never ends → failed after the bounded attempts, with the last error kept", async () => {
    await control("faults", "PUT", { status503: 1 });
    const { notification } = await h.engine.submit(request({ conversations: [conv(31)] }), admin);
    const done = await h.waitFor(notification.id, finished, 30_000);
    expect(done.counts.failed).toBe(1);
    const row = (await rows(notification.id))[0]!;
    expect(row.attempts).toBe(8);
    expect(row.lastErrorCode).toBe("503/ServiceUnavailable");
    expect(row.lastErrorMessage).toMatch(/gave up after 8 attempts/);
  });

  it("403 BotDisabledByAdmin pauses the tenant (rows wait) until a user of it interacts again", async () => {
    const tenant = org().tenants[0]!;
    await control(`tenants/${tenant.id}`, "PATCH", { botDisabled: true });
    const { notification } = await h.engine.submit(request({ conversations: [conv(32), conv(33), conv(34)] }), admin);
    // Requests already in flight when the first 403 came back are answered too; then nothing more goes.
    await h.waitFor(notification.id, () => h.stats()["disabled"]! > 0 && h.engine.stats().inFlight === 0);
    const disabledAnswers = h.stats()["disabled"]!;
    // Paused: no more calls to Teams for this tenant, rows stay pending.
    await new Promise((r) => setTimeout(r, 400));
    const paused = await h.engine.get(notification.id);
    expect(paused?.counts.pending).toBe(3);
    expect(h.stats()["disabled"]).toBe(disabledAnswers);
    // Another tenant is not affected.
    await h.seedUsers([150]);
    const other = await h.engine.submit(request({ conversations: [conv(150)] }), admin);
    await h.waitFor(other.notification.id, finished);
    await control(`tenants/${tenant.id}`, "PATCH", { botDisabled: false });
    h.engine.onTenantInteraction(tenant.id);
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts.sent).toBe(3);
  });

  it("opted-out users are skipped as optedOut without calling Teams (everything, or one category)", async () => {
    const u35 = org().user(35);
    const u36 = org().user(36);
    await store.preferences.setOptedOut(u35.tenantId, u35.id, true, new Date().toISOString());
    await store.preferences.setOptedOutCategories(u36.tenantId, u36.id, ["surveys"], new Date().toISOString());
    const before = [35, 36, 37].map((i) => h.received(i).received);
    const a = await h.engine.submit(
      request({ conversations: [conv(35), conv(36), conv(37)] }, { text: "news" }, { category: "news" }),
      admin,
    );
    const b = await h.engine.submit(
      request({ conversations: [conv(35), conv(36), conv(37)] }, { text: "survey" }, { category: "surveys" }),
      admin,
    );
    const da = await h.waitFor(a.notification.id, finished);
    const db = await h.waitFor(b.notification.id, finished);
    expect(da.counts).toMatchObject({ sent: 2, optedOut: 1 });
    expect(db.counts).toMatchObject({ sent: 1, optedOut: 2 });
    expect([35, 36, 37].map((i, k) => h.received(i).received - before[k]!)).toEqual([0, 1, 2]);
    expect(addsUp(da) && addsUp(db)).toBe(true);
  });
});

describe("Teams answers 413 for an activity over its size limit", () => {
  it("→ failed, not retried", async () => {
    const stores = createStoreFactory("sqlite");
    const h = await startHarness(await stores.open(), { emulator: { maxMessageBytes: 400, org: { users: 5 } } });
    try {
      await h.seedUsers([0]);
      const { notification } = await h.engine.submit(
        request({ conversations: [h.emulator.org.personalConversationId(0)] }, { text: "x".repeat(600) }),
        admin,
      );
      const done = await h.waitFor(notification.id, finished);
      expect(done.counts.failed).toBe(1);
      const row = (await h.engine.deliveries(notification.id, {}, { limit: 1 })).items[0]!;
      expect(row).toMatchObject({ lastErrorCode: "413/MessageSizeTooBig", attempts: 1 });
    } finally {
      await h.close();
      await stores.cleanup();
    }
  });
});
