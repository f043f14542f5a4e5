import { Hono } from "hono";
import { afterEach, expect, it } from "vitest";
import { type ApiEnv, adminKeyVerifier } from "../../src/api/auth.js";
import { retryRoutes } from "../../src/api/notification-retry.js";
import { notificationRoutes } from "../../src/api/notifications.js";
import type { ConnectorClient } from "../../src/connector/client.js";
import { ConnectorError } from "../../src/connector/errors.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import { Metrics } from "../../src/observability/metrics.js";
import { registerEngineMetrics } from "../../src/server/engine-metrics.js";
import { healthRoutes } from "../../src/server/health.js";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory, forEachStore, type StoreFactory } from "../helpers/stores.js";
import {
  addsUp,
  admin,
  emulatorControl,
  finished,
  type Harness,
  type HarnessOptions,
  pollUntil,
  request,
  startHarness,
} from "./helpers/harness.js";

/** The Connector client, except that requests about `refused()` conversations get a 401 (a token the Connector refuses there). */
const refusing =
  (refused: () => ReadonlySet<string>) =>
  (c: ConnectorClient): ConnectorClient =>
    new Proxy(c, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          const [url, conversationId] = args as [string, string];
          if (prop !== "getToken" && typeof conversationId === "string" && refused().has(conversationId))
            return Promise.reject(
              new ConnectorError({ kind: "http", source: "connector", operation: "sendToConversation", url, status: 401 }),
            );
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });

/**
 * The Connector client with the bot's credentials revoked while `revoked()`: a request that starts
 * then gets a 401; one that started before is answered, late (`lateMs`), as Teams answers requests
 * it had accepted before a revocation.
 */
const revocable =
  (revoked: () => boolean, lateMs: number, onCall: () => void) =>
  (c: ConnectorClient): ConnectorClient =>
    new Proxy(c, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== "function" || prop === "getToken") return value;
        return async (...args: unknown[]) => {
          onCall();
          if (revoked())
            throw new ConnectorError({
              kind: "http",
              source: "connector",
              operation: "sendToConversation",
              url: String(args[0]),
              status: 401,
            });
          const answer = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          await new Promise((r) => setTimeout(r, lateMs));
          return answer;
        };
      },
    });

const adminKey = "credentials-test-admin-key-0123456789";

/**
 * The bot's credentials failing (an expired client secret, a throttled token endpoint) is not a
 * delivery outcome: sending pauses with backoff, visible in /readyz and the metrics, no row
 * fails, and everything goes out once the credentials work again. `POST .../retry` sends again
 * the rows that did fail.
 */
forEachStore((stores) => {
  let h: Harness | undefined;
  // A database per test: rows a previous test left pending would be sent at start and fetch a token
  // before the test sets its token faults.
  let fresh: StoreFactory | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await fresh?.cleanup();
    fresh = undefined;
  });

  const start = async (
    options: Pick<HarnessOptions, "wrapConnector"> & {
      teams?: number;
      tenants?: number;
      backoffMs?: number;
      tenantRps?: number;
      wrapStore?: (s: Store) => Store;
    } = {},
  ) => {
    fresh = createStoreFactory(stores.name);
    const store = await fresh.open();
    h = await startHarness(options.wrapStore ? options.wrapStore(store) : store, {
      wrapConnector: options.wrapConnector,
      emulator: { org: { tenants: options.tenants ?? 1, users: 30, teams: options.teams ?? 0 } },
      // Fast backoff for the test: 100 ms doubling to 400 ms.
      config: {
        credentialBackoff: { baseMs: options.backoffMs ?? 100, capMs: options.backoffMs ?? 400, probeTimeoutMs: 5_000 },
        ...(options.tenantRps === undefined ? {} : { tenantRps: options.tenantRps }),
      },
    });
    await h.seedUsers(Array.from({ length: 30 }, (_, i) => i));
    const app = new Hono<ApiEnv>();
    app.route(
      "/",
      healthRoutes(h.store, () => h!.engine.credentials()),
    );
    app.route("/", notificationRoutes(h.engine, adminKeyVerifier(adminKey)));
    app.route("/", retryRoutes(h.engine, adminKeyVerifier(adminKey)));
    const metrics = new Metrics();
    registerEngineMetrics(metrics, h.engine);
    return { h, app, metrics };
  };
  const emulator = async (method: string, path: string, body?: unknown) =>
    (await emulatorControl(h!, method, path, body)) as Record<string, unknown>;
  const users = Array.from({ length: 20 }, (_, i) => i);

  it("an expired client secret pauses sending (readyz degraded, metric 0, no row failed); fixed, everyone gets the message once", async () => {
    const { h, app, metrics } = await start();
    await emulator("PUT", "token-faults", { mode: "expiredSecret" });
    const before = users.map((i) => h.received(i).received);
    const { notification } = await h.engine.submit(
      request({ conversations: users.map((i) => h.emulator.org.personalConversationId(i)) }),
      admin,
    );
    // Paused, and probed again at least twice with backoff.
    const state = await pollUntil(
      () => h.engine.credentials(),
      (s) => !s.ok && s.failures >= 3,
      "credentials paused after probes",
    );
    expect(state.code).toBe("HERALD_E_TOKEN");
    expect(state.reason).toMatch(/401 invalid_client/);
    const waiting = await h.engine.get(notification.id);
    expect(waiting?.counts).toMatchObject({ pending: 20, failed: 0, sent: 0 });
    // The token endpoint is asked once per probe, not once per recipient.
    const refused = Number((await emulator("GET", "token-faults"))["refused"]);
    expect(refused).toBeLessThanOrEqual(h.engine.credentials().failures + 2);
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; degraded?: boolean; delivery?: Record<string, unknown> };
    // The whole body, key by key: /readyz is unauthenticated, so no URL, host or server text.
    expect(body).toEqual({
      status: "ready",
      degraded: true,
      delivery: {
        state: "paused",
        code: "HERALD_E_TOKEN",
        reason: "The token endpoint answered 401 invalid_client. Sending is paused (nothing fails; rows wait) and retried with backoff.",
        since: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
        retryAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/),
        failures: expect.any(Number),
      },
    });
    const text = JSON.stringify(body);
    expect(text).not.toMatch(/https?:|127\.0\.0\.1|localhost|description/i);
    expect(text).not.toContain(new URL(h.emulator.tokenUrl).host);
    expect(await metrics.render()).toMatch(/^herald_delivery_credentials_ok 0$/m);

    await emulator("DELETE", "token-faults");
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 20, failed: 0, pending: 0 });
    expect(addsUp(done)).toBe(true);
    expect(users.map((i, k) => h.received(i).received - before[k]!)).toEqual(users.map(() => 1));
    const rows = (await h.engine.deliveries(notification.id, {}, { limit: 100 })).items;
    expect(rows.every((r) => r.attempts === 1)).toBe(true);
    expect(h.engine.credentials().ok).toBe(true);
    expect(await (await app.request("/readyz")).json()).toEqual({ status: "ready" });
    expect(await metrics.render()).toMatch(/^herald_delivery_credentials_ok 1$/m);
  });

  it("a throttled token endpoint: its Retry-After is honoured, nothing fails, all delivered when it recovers", async () => {
    const { h } = await start();
    await emulator("PUT", "token-faults", { mode: "throttled", retryAfterSeconds: 1 });
    const { notification } = await h.engine.submit(
      request({ conversations: users.map((i) => h.emulator.org.personalConversationId(i)) }),
      admin,
    );
    const state = await pollUntil(
      () => h.engine.credentials(),
      (s) => !s.ok,
      "credentials paused",
    );
    // The backoff here is at most 400 ms: a wait of ~1 s is the endpoint's Retry-After.
    expect(Date.parse(state.retryAt!) - Date.parse(state.since!)).toBeGreaterThanOrEqual(950);
    expect((await h.engine.get(notification.id))?.counts.failed).toBe(0);
    await emulator("DELETE", "token-faults");
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 20, failed: 0 });
  });

  it("a Connector 401 (a token it refuses) is a credential problem too: sending pauses, no row fails", async () => {
    const { h } = await start();
    await emulator("PUT", "token-faults", { mode: "invalidToken" });
    const { notification } = await h.engine.submit(
      request({ conversations: users.slice(0, 5).map((i) => h.emulator.org.personalConversationId(i)) }),
      admin,
    );
    const state = await pollUntil(
      () => h.engine.credentials(),
      (s) => !s.ok && s.failures >= 2,
      "credentials paused after a probe",
    );
    expect(state.code).toBe("HERALD_E_CONNECTOR_401");
    expect((await h.engine.get(notification.id))?.counts).toMatchObject({ pending: 5, failed: 0 });
    expect((h.stats()["unauthorized"] ?? 0) <= state.failures + 2).toBe(true);
  });

  it("credentials revoked in the middle of a broadcast, answers to earlier requests still arriving: no row fails, everyone gets it once after", async () => {
    let revoked = false;
    let calls = 0;
    const { h } = await start({
      wrapConnector: revocable(
        () => revoked,
        300,
        () => {
          calls++;
          // Revoked once a few requests are on their way (their answers arrive after it).
          if (calls === 3) revoked = true;
        },
      ),
    });
    const conv = (i: number) => h.emulator.org.personalConversationId(i);
    const { notification } = await h.engine.submit(request({ conversations: users.slice(0, 6).map(conv) }), admin);
    // Each of the rows not yet sent probes several times (backoff 100..400 ms) after the late answers came in.
    await pollUntil(
      () => h.engine.credentials(),
      (s) => !s.ok && s.failures >= 12,
      "credentials paused through several probes",
    );
    expect((await h.engine.get(notification.id))?.counts.failed).toBe(0);
    revoked = false;
    const done = await h.waitFor(notification.id, finished, 15_000);
    expect(done.counts).toMatchObject({ sent: 6, failed: 0 });
    for (const i of users.slice(0, 6)) expect(h.received(i).received).toBe(1);
  });

  it("a Connector 401 for ONE conversation while the others are accepted: that row ends failed, the others are sent, sending does not stay paused", async () => {
    const refused = new Set<string>();
    // Five requests a second for the tenant: the refused conversation's request leaves first and
    // its 401 is back long before the next leaves (under load, with the whole tenant at once, all
    // may leave before the 401 comes back: the next test).
    const { h, app } = await start({ wrapConnector: refusing(() => refused), tenantRps: 5 });
    const conv = (i: number) => h.emulator.org.personalConversationId(i);
    refused.add(conv(3));
    const { notification } = await h.engine.submit(request({ conversations: [3, 0, 1, 2, 4, 5].map(conv) }), admin);
    const done = await h.waitFor(notification.id, finished, 15_000);
    expect(done.counts).toMatchObject({ sent: 5, failed: 1, pending: 0 });
    expect(addsUp(done)).toBe(true);
    const rows = (await h.engine.deliveries(notification.id, {}, { limit: 100 })).items;
    const bad = rows.find((r) => r.conversationId === conv(3));
    expect(bad).toMatchObject({ status: "failed", lastErrorCode: "401" });
    expect(bad?.lastErrorMessage).toMatch(/refused the bot's token for this conversation/);
    expect(bad?.attempts).toBeLessThanOrEqual(3);
    // The pause ended with the others' answers and nothing holds it now.
    await pollUntil(
      () => h.engine.credentials(),
      (s) => s.ok,
      "credentials ok again",
    );
    expect(await (await app.request("/readyz")).json()).toEqual({ status: "ready" });
    // The next notification to the same people goes at once.
    const second = await h.engine.submit(request({ conversations: [0, 1].map(conv) }), admin);
    expect((await h.waitFor(second.notification.id, finished, 10_000)).counts).toMatchObject({ sent: 2 });
  });

  it("a 401 that comes back after every other request left could be a revocation: the row waits (not failed) until a request that leaves after it is accepted", async () => {
    const refused = new Set<string>();
    let othersCalled = 0;
    let othersLeft: () => void = () => {};
    const allOthersLeft = new Promise<void>((r) => {
      othersLeft = r;
    });
    const { h } = await start({
      wrapConnector: (c) => {
        const refuses = refusing(() => refused)(c);
        return new Proxy(c, {
          get(target, prop) {
            if (prop !== "sendToConversation") return Reflect.get(refuses, prop, refuses);
            return async (...args: Parameters<ConnectorClient["sendToConversation"]>) => {
              if (refused.has(args[1])) {
                // The refusal comes back only once the five others have left: any of them may have
                // reached Teams before it (before a revocation), so their answers prove nothing.
                await allOthersLeft;
                return refuses.sendToConversation(...args);
              }
              if (othersCalled < 5 && [0, 1, 2, 4, 5].some((i) => args[1] === conv(i)) && ++othersCalled === 5) othersLeft();
              return target.sendToConversation(...args);
            };
          },
        });
      },
    });
    const conv = (i: number) => h.emulator.org.personalConversationId(i);
    // The process's first request goes alone (Warmup): one answered before the test's six.
    const warm = await h.engine.submit(request({ conversations: [conv(10)] }), admin);
    await h.waitFor(warm.notification.id, finished, 10_000);
    refused.add(conv(3));
    const { notification } = await h.engine.submit(request({ conversations: [3, 0, 1, 2, 4, 5].map(conv) }), admin);
    await pollUntil(
      () => h.engine.get(notification.id),
      (n) => n?.counts.sent === 5,
      "the five others sent",
    );
    await new Promise((r) => setTimeout(r, 1_500));
    // Still waiting, and sending paused: no row failed for what may be revoked credentials.
    expect((await h.engine.get(notification.id))?.counts).toMatchObject({ sent: 5, pending: 1, failed: 0 });
    expect(h.engine.credentials().ok).toBe(false);
    // A request that leaves now is accepted: the credentials work, so the 401 is the conversation's.
    const other = await h.engine.submit(request({ conversations: [conv(6)] }), admin);
    expect((await h.waitFor(other.notification.id, finished, 10_000)).counts).toMatchObject({ sent: 1 });
    const done = await h.waitFor(notification.id, finished, 10_000);
    expect(done.counts).toMatchObject({ sent: 5, failed: 1, pending: 0 });
    expect(h.engine.credentials().ok).toBe(true);
  });

  it("at the end of a pause only the probe's row is marked in flight: lanes of other tenants mark nothing they do not send", async () => {
    let marks = 0;
    let sends = 0;
    const { h } = await start({
      tenants: 4,
      wrapStore: (store) => {
        const deliveries = new Proxy(store.deliveries, {
          get(target, prop) {
            const value = Reflect.get(target, prop, target) as unknown;
            if (typeof value !== "function") return value;
            if (prop !== "writeBatch") return value.bind(target);
            return (...args: Parameters<DeliveryStore["writeBatch"]>) => {
              marks += args[1].marks.length;
              return target.writeBatch(...args);
            };
          },
        }) as DeliveryStore;
        return new Proxy(store, { get: (t, p) => (p === "deliveries" ? deliveries : Reflect.get(t, p, t)) }) as Store;
      },
      wrapConnector: (c) =>
        new Proxy(c, {
          get(target, prop) {
            const value = Reflect.get(target, prop, target) as unknown;
            if (typeof value !== "function") return value;
            if (prop !== "sendToConversation") return value.bind(target);
            return (...args: unknown[]) => {
              sends++;
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        }),
    });
    await emulator("PUT", "token-faults", { mode: "expiredSecret" });
    // Users of every tenant: one lane each.
    const { notification } = await h.engine.submit(
      request({ conversations: users.map((i) => h.emulator.org.personalConversationId(i)) }),
      admin,
    );
    await pollUntil(
      () => h.engine.credentials(),
      (s) => s.failures >= 4,
      "three probes after the pause",
    );
    await emulator("DELETE", "token-faults");
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 20, failed: 0, unknown: 0 });
    expect(new Set(users.map((i) => h.emulator.org.user(i).tenantId)).size).toBeGreaterThan(1);
    // Every mark belongs to a request that left (a probe or a send), none to a row turned away.
    expect(marks).toBe(sends);
  });

  it("roster reads wait while the credentials fail (none leaves before the pause's wait ends); all delivered once they work", async () => {
    const early: string[] = [];
    let reads = 0;
    const { h } = await start({
      teams: 1,
      backoffMs: 1_500,
      wrapConnector: (c) =>
        new Proxy(c, {
          get(target, prop) {
            const value = Reflect.get(target, prop, target) as unknown;
            if (typeof value !== "function") return value;
            if (prop !== "getPagedMembers") return value.bind(target);
            return (...args: unknown[]) => {
              reads++;
              const s = h.engine.credentials();
              // A read while the gate says wait (5 ms of slack for the clock reads around it).
              if (!s.ok && Date.now() < Date.parse(s.retryAt!) - 5) early.push(`${Date.now()} < ${s.retryAt}`);
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        }),
    });
    await h.seedTeam(0);
    const team = h.emulator.org.teams[0]!;
    await emulator("PUT", "token-faults", { mode: "expiredSecret" });
    // A send pauses sending first; the roster read comes during the pause.
    await h.engine.submit(request({ conversations: [h.emulator.org.personalConversationId(0)] }), admin);
    await pollUntil(
      () => h.engine.credentials(),
      (s) => !s.ok,
      "credentials paused",
    );
    const { notification } = await h.engine.submit(request({ teams: [team.id], deliverTo: "members" }), admin);
    // Two more probes, at least one of them possibly the roster read.
    await pollUntil(
      () => h.engine.credentials(),
      (s) => s.failures >= 3,
      "probed twice more",
    );
    await emulator("DELETE", "token-faults");
    const done = await h.waitFor(notification.id, finished, 15_000);
    expect(done.counts.sent).toBe(team.memberCount);
    expect(early).toEqual([]);
    expect(reads).toBeGreaterThan(0);
    expect(h.engine.credentials().ok).toBe(true);
  });

  it("POST /v1/notifications/{id}/retry?include=unknown sends the unknown rows again (once each); without include it leaves them", async () => {
    const { h, app } = await start();
    const call = async (method: string, path: string) => {
      const res = await app.request(path, { method, headers: { authorization: `Bearer ${adminKey}` } });
      // biome-ignore lint/suspicious/noExplicitAny: test bodies are read loosely
      return { status: res.status, json: (await res.json()) as any };
    };
    const conv = (i: number) => h.emulator.org.personalConversationId(i);
    // Delivered, then the connection reset: the row ends `unknown` (HERALD_IN_FLIGHT_POLICY=unknown).
    await emulator("PUT", "faults", { deliverReset: 1 });
    const before = h.received(7).received;
    const { notification } = await h.engine.submit(request({ conversations: [conv(7)] }), admin);
    expect((await h.waitFor(notification.id, finished)).counts).toMatchObject({ unknown: 1, sent: 0 });
    await emulator("DELETE", "faults");
    expect(h.received(7).received).toBe(before + 1);

    const plain = await call("POST", `/v1/notifications/${notification.id}/retry`);
    expect(plain.json).toMatchObject({ retried: 0, counts: { unknown: 1, pending: 0 } });
    const r = await call("POST", `/v1/notifications/${notification.id}/retry?include=unknown`);
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ retried: 1, status: "sending", counts: { unknown: 0, pending: 1 } });
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 1, unknown: 0, pending: 0 });
    expect(addsUp(done)).toBe(true);
    // Sent again exactly once.
    expect(h.received(7).received).toBe(before + 2);
    expect((await h.engine.deliveries(notification.id, {}, { limit: 10 })).items[0]).toMatchObject({ status: "sent" });
  });

  it("POST /v1/notifications/{id}/retry sends the failed rows again; the notification completes again; idempotent; refused after a recall", async () => {
    const { h, app } = await start();
    const call = async (method: string, path: string) => {
      const res = await app.request(path, { method, headers: { authorization: `Bearer ${adminKey}` } });
      // biome-ignore lint/suspicious/noExplicitAny: test bodies are read loosely
      return { status: res.status, json: (await res.json()) as any };
    };
    const conv = (i: number) => h.emulator.org.personalConversationId(i);
    // 500 is not retried: every row fails at once.
    await emulator("PUT", "faults", { status500: 1 });
    const { notification } = await h.engine.submit(request({ conversations: [conv(0), conv(1), conv(2)] }), admin);
    const failed = await h.waitFor(notification.id, finished);
    expect(failed.counts).toMatchObject({ failed: 3, sent: 0 });
    await emulator("DELETE", "faults");
    const before = [0, 1, 2].map((i) => h.received(i).received);

    expect((await call("POST", `/v1/notifications/${notification.id}/retry?include=everything`)).status).toBe(400);
    const r = await call("POST", `/v1/notifications/${notification.id}/retry`);
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ id: notification.id, status: "sending", retried: 3, counts: { pending: 3, failed: 0 } });
    const done = await h.waitFor(notification.id, finished);
    expect(done.status).toBe("completed");
    expect(done.counts).toMatchObject({ sent: 3, failed: 0, pending: 0 });
    expect(addsUp(done)).toBe(true);
    expect([0, 1, 2].map((i, k) => h.received(i).received - before[k]!)).toEqual([1, 1, 1]);
    // Nothing failed any more: a second retry changes nothing.
    const again = await call("POST", `/v1/notifications/${notification.id}/retry?include=unknown`);
    expect(again.status).toBe(202);
    expect(again.json).toMatchObject({ status: "completed", retried: 0 });
    expect([0, 1, 2].map((i, k) => h.received(i).received - before[k]!)).toEqual([1, 1, 1]);

    expect((await call("POST", "/v1/notifications/n_unknown/retry")).status).toBe(404);
    await call("DELETE", `/v1/notifications/${notification.id}`);
    const refused = await call("POST", `/v1/notifications/${notification.id}/retry`);
    expect(refused.status).toBe(409);
    expect(refused.json.error.code).toBe("HERALD_E_RECALLED");
  });
});
