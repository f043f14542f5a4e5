import { afterAll, beforeAll, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";
import { addsUp, admin, emulatorControl, finished, type Harness, request, startHarness } from "./helpers/harness.js";

const dayMs = 24 * 3_600_000;

/**
 * Teams sends nothing when a user unblocks the bot: a conversation stored `blocked` is tried again
 * by a later notification once its block is older than HERALD_BLOCKED_RETRY_INTERVAL, at most
 * once per interval. The engine's clock is injected so days pass in a moment.
 */
forEachStore((stores) => {
  let h: Harness;
  let store: Store;
  let offset = 0;
  const clock = { now: () => Date.now() + offset, sleep: systemClock.sleep };

  beforeAll(async () => {
    store = await stores.open();
    h = await startHarness(store, { clock, emulator: { org: { tenants: 1, users: 30 } }, config: { blockedRetryMs: 7 * dayMs } });
    await h.seedUsers(Array.from({ length: 30 }, (_, i) => i));
  });
  afterAll(async () => {
    await h.close();
  });

  const control = (path: string, body: unknown) => emulatorControl(h, "PATCH", path, body);
  const setBlocked = (i: number, blocked: boolean) => control(`users/${encodeURIComponent(h.emulator.org.user(i).id)}`, { blocked });
  const conv = (i: number) => h.emulator.org.personalConversationId(i);
  const send = async (audience: Parameters<typeof request>[0]) => {
    const { notification } = await h.engine.submit(request(audience), admin);
    return h.waitFor(notification.id, finished);
  };
  const blockedAnswers = () => h.stats()["blocked"] ?? 0;

  it("a user who unblocked the bot and never wrote gets notifications again once the block is older than the interval", async () => {
    await setBlocked(10, true);
    const first = await send({ conversations: [conv(10)] });
    expect(first.counts.blocked).toBe(1);
    expect((await store.conversations.get(conv(10)))?.status).toBe("blocked");
    // The user unblocks; Teams tells the bot nothing.
    await setBlocked(10, false);
    const before = h.received(10).received;
    const answers = blockedAnswers();
    // Within the interval: written blocked, Teams not called.
    offset += 6 * dayMs;
    const within = await send({ conversations: [conv(10)] });
    expect(within.counts).toMatchObject({ blocked: 1, sent: 0 });
    expect(h.received(10).received).toBe(before);
    // Past it: tried again, delivered, and the conversation is active again.
    offset += 2 * dayMs;
    const past = await send({ conversations: [conv(10)] });
    expect(past.counts).toMatchObject({ sent: 1, blocked: 0 });
    expect(addsUp(past)).toBe(true);
    expect(h.received(10).received).toBe(before + 1);
    expect(blockedAnswers()).toBe(answers);
    expect((await store.conversations.get(conv(10)))?.status).toBe("active");
    // Active again: the next notification needs no retry.
    const next = await send({ conversations: [conv(10)] });
    expect(next.counts.sent).toBe(1);
    expect(h.received(10).received).toBe(before + 2);
  });

  it("repeating a request (same idempotency key) after the interval does not use up the conversation's retry", async () => {
    await setBlocked(14, true);
    const key = "blocked-retry-replay";
    const once = await h.engine.submit(request({ conversations: [conv(14)] }, undefined, { idempotencyKey: key }), admin);
    expect((await h.waitFor(once.notification.id, finished)).counts.blocked).toBe(1);
    await setBlocked(14, false);
    offset += 8 * dayMs;
    // The client retries its old request: the same notification comes back, nothing is claimed.
    const replay = await h.engine.submit(request({ conversations: [conv(14)] }, undefined, { idempotencyKey: key }), admin);
    expect(replay.created).toBe(false);
    expect(replay.notification.id).toBe(once.notification.id);
    // So the next new notification still tries the conversation again, and the user gets it.
    const before = h.received(14).received;
    const next = await send({ conversations: [conv(14)] });
    expect(next.counts).toMatchObject({ sent: 1, blocked: 0 });
    expect(h.received(14).received).toBe(before + 1);
  });

  it("a user still blocking is tried at most once per interval, however many notifications and broadcasts target them", async () => {
    await setBlocked(12, true);
    expect((await send({ conversations: [conv(12)] })).counts.blocked).toBe(1);
    offset += 8 * dayMs;
    const answers = blockedAnswers();
    const tenantId = h.emulator.org.user(12).tenantId;
    // Three notifications at once, one of them a broadcast to every stored chat of the tenant.
    const [a, b, c] = await Promise.all([
      send({ conversations: [conv(12)] }),
      send({ users: [h.emulator.org.user(12).id], tenantId }),
      send({ all: true, tenantId }),
    ]);
    expect(blockedAnswers()).toBe(answers + 1);
    for (const n of [a, b]) expect(n.counts).toMatchObject({ blocked: 1, sent: 0 });
    // The broadcast reached everyone else (user 10 unblocked above); user 12 is blocked in it only if it made the attempt.
    expect(c.counts.sent).toBeGreaterThanOrEqual(28);
    expect(addsUp(c)).toBe(true);
    expect((await store.conversations.get(conv(12)))?.status).toBe("blocked");
    // The attempt renewed the interval: a day later, no call.
    offset += dayMs;
    expect((await send({ conversations: [conv(12)] })).counts.blocked).toBe(1);
    expect(blockedAnswers()).toBe(answers + 1);
    // Another interval later: one more attempt.
    offset += 7 * dayMs;
    expect((await send({ conversations: [conv(12)] })).counts.blocked).toBe(1);
    expect(blockedAnswers()).toBe(answers + 2);
  });
});
