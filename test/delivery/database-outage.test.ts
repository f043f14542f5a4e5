import { afterAll, beforeAll, expect, it } from "vitest";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";
import { addsUp, admin, finished, type Harness, request, startHarness } from "./helpers/harness.js";

/**
 * The database refuses the engine's writes for longer than a write's own retries last (about
 * 4 s), as during a PostgreSQL failover: results of sends made meanwhile must not be dropped
 * (their rows would stay in flight until a restart reported them `unknown`).
 */
forEachStore((stores) => {
  let h: Harness;
  let down = false;
  /** Writes refused while `down` (the outage must really be seen). */
  let failedWrites = 0;
  /** Writes with marks still to commit and then answer with an error (the reply lost, as when a connection drops after COMMIT). */
  let loseReplies = 0;

  /**
   * The store, except that the dispatcher's batched write fails while `down`. Decided at each
   * call, not when the method is read: the engine's dispatch store (leaveBatchRows) reads it once
   * and keeps it, so a check at the read never saw the outage.
   */
  const flaky = (store: Store): Store => {
    const deliveries = new Proxy(store.deliveries, {
      get(target, prop) {
        if (prop === "writeBatch")
          return (...args: Parameters<DeliveryStore["writeBatch"]>) => {
            if (down) {
              failedWrites++;
              return Promise.reject(new Error("database unavailable (test)"));
            }
            if (loseReplies > 0 && args[1].marks.length > 0) {
              loseReplies--;
              return target.writeBatch(...args).then(() => Promise.reject(new Error("connection lost after COMMIT (test)")));
            }
            return target.writeBatch(...args);
          };
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as DeliveryStore;
    return new Proxy(store, { get: (target, prop) => (prop === "deliveries" ? deliveries : Reflect.get(target, prop, target)) });
  };

  beforeAll(async () => {
    h = await startHarness(flaky(await stores.open()), { emulator: { org: { users: 40 } }, config: { maxInFlight: 4 } });
    await h.seedUsers(Array.from({ length: 40 }, (_, i) => i));
  });
  afterAll(async () => {
    down = false;
    await h.close();
  });

  it("a database outage longer than the write retries: every result is written once it is back, everyone got the message once", async () => {
    const users = Array.from({ length: 40 }, (_, i) => i);
    const conversations = users.map((i) => h.emulator.org.personalConversationId(i));
    // Slow answers keep sends in flight when the outage starts.
    await fetch(`${h.emulator.url}/_emulator/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ slow: 1, slowMs: 100 }),
    });
    const { notification } = await h.engine.submit(request({ conversations }, { text: "through a failover" }), admin);
    await h.waitFor(notification.id, (n) => n.counts.sent >= 5, 10_000);
    down = true;
    await new Promise((r) => setTimeout(r, 5_500));
    down = false;
    expect(failedWrites).toBeGreaterThan(5); // writes were refused: more than one write's retries
    await fetch(`${h.emulator.url}/_emulator/faults`, { method: "DELETE" });
    const done = await h.waitFor(notification.id, finished, 30_000);
    expect(done.counts.sent).toBe(40);
    expect(done.counts.unknown).toBe(0);
    expect(addsUp(done)).toBe(true);
    for (const i of users) expect(h.received(i).received).toBe(1);
  }, 60_000);

  it("a write that committed but whose answer was lost: its retry leaves no row in flight, everyone gets the message once", async () => {
    const users = Array.from({ length: 10 }, (_, i) => i);
    const before = users.map((i) => h.received(i).received);
    loseReplies = 2;
    const { notification } = await h.engine.submit(
      request({ conversations: users.map((i) => h.emulator.org.personalConversationId(i)) }, { text: "a lost answer" }),
      admin,
    );
    // A marked row left in flight by a live worker is never sent nor taken over: the notification would never finish.
    const done = await h.waitFor(notification.id, finished, 20_000);
    expect(loseReplies).toBe(0);
    expect(done.counts).toMatchObject({ sent: 10, pending: 0, unknown: 0 });
    expect(addsUp(done)).toBe(true);
    expect(users.map((i) => h.received(i).received - before[i]!)).toEqual(users.map(() => 1));
  }, 60_000);
});
