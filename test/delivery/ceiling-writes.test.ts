import { afterEach, expect, it } from "vitest";
import { InProcessRateLimiter, type RateLimiter } from "../../src/delivery/limits/index.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory, forEachStore, type StoreFactory } from "../helpers/stores.js";
import { admin, finished, type Harness, request, startHarness } from "./helpers/harness.js";

/**
 * At Teams' ceiling (issue 14): waiting for a rate-limit slot must cost (almost) nothing. Each
 * write is a transaction; a lane at its tenant's limit marks the sends its rate lets go in the
 * next 200 ms together (10 at 50 rps) instead of one write per send, and every row is still marked
 * in flight before its request leaves.
 */
forEachStore((stores: StoreFactory) => {
  let h: Harness | undefined;
  // A fresh database per test: a broadcast to everyone must not reach the previous test's users.
  let fresh: StoreFactory | undefined;
  const open = () => {
    fresh = createStoreFactory(stores.name);
    return fresh.open();
  };
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await fresh?.cleanup();
    fresh = undefined;
  });

  it("one tenant at 50 rps: in-flight marks go several per write, each before its request, every message once, no 429", async () => {
    const users = Array.from({ length: 100 }, (_, i) => i);
    /** Per writeBatch that marked rows: how many. */
    const markWrites: number[] = [];
    const marked = new Set<string>();
    const early: string[] = [];
    const wrap = (store: Store): Store => {
      const deliveries = new Proxy(store.deliveries, {
        get(target, prop) {
          const value = Reflect.get(target, prop, target) as unknown;
          if (typeof value !== "function") return value;
          if (prop !== "writeBatch") return value.bind(target);
          return async (...args: Parameters<DeliveryStore["writeBatch"]>) => {
            const out = await target.writeBatch(...args);
            if (args[1].marks.length > 0) markWrites.push(args[1].marks.length);
            for (const k of out.marked) marked.add(`${k.notificationId}:${k.seq}`);
            return out;
          };
        },
      }) as DeliveryStore;
      return new Proxy(store, { get: (t, p) => (p === "deliveries" ? deliveries : Reflect.get(t, p, t)) }) as Store;
    };
    const store = await open();
    let sentBeforeMark = 0;
    h = await startHarness(wrap(store), {
      emulator: { tenantRps: 50, org: { tenants: 1, users: users.length } },
      config: { tenantRps: 50 },
      wrapConnector: (c) => ({
        ...c,
        createConversation: c.createConversation.bind(c),
        sendToConversation: (serviceUrl, conversationId, activity, signal) => {
          // Every request leaves after its row's mark committed: as many rows marked as requests sent so far.
          if (marked.size <= sentBeforeMark) early.push(conversationId);
          sentBeforeMark++;
          return c.sendToConversation(serviceUrl, conversationId, activity, signal);
        },
      }),
    });
    await h.seedUsers(users);
    const { notification } = await h.engine.submit(request({ all: true }), admin);
    const done = await h.waitFor(notification.id, finished, 20_000);
    expect(done.counts.sent).toBe(users.length);
    for (const i of users) expect(h.received(i).received).toBe(1);
    expect(h.stats()["throttled"]).toBe(0);
    expect(early).toEqual([]);
    const marks = markWrites.reduce((a, b) => a + b, 0);
    expect(marks).toBe(users.length);
    // One write per send before; now at least 3 sends per write on average (10 when every group fills).
    expect(markWrites.length).toBeLessThanOrEqual(Math.ceil(users.length / 3));
    // Never more than a group (200 ms at 50 rps) marked ahead in one write.
    expect(Math.max(...markWrites)).toBeLessThanOrEqual(10);
  });

  it("one tenant at 50 rps: two limiter calls per request (each a Redis round trip with Redis), not three", async () => {
    const users = Array.from({ length: 60 }, (_, i) => i);
    const inner = new InProcessRateLimiter({ marginMs: 150 });
    let calls = 0;
    const limiter: RateLimiter = {
      tryAcquire: (keys, now) => {
        calls++;
        return inner.tryAcquire(keys, now);
      },
      block: (key, until) => inner.block(key, until),
    };
    h = await startHarness(await open(), {
      emulator: { tenantRps: 50, org: { tenants: 1, users: users.length } },
      config: { tenantRps: 50 },
      limiter,
    });
    await h.seedUsers(users);
    const { notification } = await h.engine.submit(request({ all: true }), admin);
    const done = await h.waitFor(notification.id, finished, 20_000);
    expect(done.counts.sent).toBe(users.length);
    for (const i of users) expect(h.received(i).received).toBe(1);
    expect(h.stats()["throttled"]).toBe(0);
    // Before: the tenant refused (its wait), the tenant admitted, then the conversation: 3 per request
    // (177 calls for 60 requests). Now 2, plus a few refusals when a loaded machine wakes the lane late
    // for a slot: the bound leaves room for those (runs on a loaded machine counted more than 2.2 per
    // request, and one CI run 152 calls, 2.53) and stays below the 177 of three calls per request.
    expect(calls).toBeLessThanOrEqual(Math.ceil(users.length * 2.75));
  });

  it("ticks (HERALD_TENANT_TICK=10), six tenants sharing 16 permits: full ticks, every message once, no 429", async () => {
    const tenants = 6;
    const perTenant = 20;
    const users = Array.from({ length: tenants * perTenant }, (_, i) => i);
    const inner = new InProcessRateLimiter();
    /** Slots of each call that took a tenant's slots (admitted). */
    const ticks: number[] = [];
    const limiter: RateLimiter = {
      tryAcquire: async (keys, now) => {
        const wait = await inner.tryAcquire(keys, now);
        const tenant = keys.find((k) => k.key.startsWith("tenant:"));
        if (wait === 0 && tenant) ticks.push(tenant.slots ?? 1);
        return wait;
      },
      block: (key, until) => inner.block(key, until),
    };
    h = await startHarness(await open(), {
      emulator: { tenantRps: 50, org: { tenants, users: users.length } },
      config: { tenantRps: 50, tenantTick: 10, maxInFlight: 16 },
      limiter,
    });
    await h.seedUsers(users);
    const { notification } = await h.engine.submit(request({ all: true }), admin);
    const done = await h.waitFor(notification.id, finished, 30_000);
    expect(done.counts.sent).toBe(users.length);
    for (const i of users) expect(h.received(i).received).toBe(1);
    expect(h.stats()["throttled"]).toBe(0);
    // Each tenant's 20 sends in ticks of 10 (the warm-up probe goes alone, so a tenant may need a third).
    // With permits taken at staging, lanes short of permits took ticks of a few and lost the rest.
    expect(ticks.reduce((a, b) => a + b, 0)).toBe(users.length);
    expect(ticks.length).toBeLessThanOrEqual(tenants * 3);
  });
});
