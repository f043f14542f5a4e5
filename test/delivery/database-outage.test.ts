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

  /** The store, except that the dispatcher's batched write fails while `down`. */
  const flaky = (store: Store): Store => {
    const deliveries = new Proxy(store.deliveries, {
      get(target, prop) {
        if (prop === "writeBatch" && down) return () => Promise.reject(new Error("database unavailable (test)"));
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
    await fetch(`${h.emulator.url}/_emulator/faults`, { method: "DELETE" });
    const done = await h.waitFor(notification.id, finished, 30_000);
    expect(done.counts.sent).toBe(40);
    expect(done.counts.unknown).toBe(0);
    expect(addsUp(done)).toBe(true);
    for (const i of users) expect(h.received(i).received).toBe(1);
  }, 60_000);
});
