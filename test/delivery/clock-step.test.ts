import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Clock, systemClock } from "../../src/clock.js";
import { createDeliveryEngine, type DeliveryEngine } from "../../src/delivery/engine.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory, withPostgres } from "../helpers/stores.js";
import { admin, type Harness, request, startHarness, testDeliveryConfig } from "./helpers/harness.js";

/**
 * A machine's clock steps forward (NTP, a VM resumed) by more than the stale time: the next
 * heartbeat must measure the database's clock again BEFORE it looks for dead processes, or it
 * declares every live worker dead and takes (or reports unknown) their rows (found by review).
 */
describe("postgres: a process whose system clock steps forward", () => {
  const stores = createStoreFactory("postgres");
  const schema = stores.options.schema ?? "";
  let store: Store;
  let h: Harness;
  const engines: DeliveryEngine[] = [];
  const sql = <T>(text: string, values: unknown[] = []): Promise<T[]> =>
    withPostgres(async (c) => (await c.query(text.replaceAll("$schema", `"${schema}"`), values)).rows as T[]);
  const leaseOf = async (id: string) =>
    (await sql<{ lease_owner: string | null }>("select lease_owner from $schema.deliveries where notification_id = $1", [id]))[0]
      ?.lease_owner ?? null;

  beforeAll(async () => {
    store = await stores.open();
    h = await startHarness(store, { emulator: { org: { users: 4 } }, start: false });
    await h.seedUsers([0, 1]);
  });
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.stop()));
  });
  afterAll(async () => {
    await h.close();
    await stores.cleanup();
  });

  it("does not take a live process's rows at the heartbeat right after the step", async () => {
    let skew = 0;
    const stepping: Clock = { now: () => Date.now() + skew, sleep: systemClock.sleep };
    const mk = (clock: Clock) => {
      const e = createDeliveryEngine({
        store,
        connector: h.connector,
        limiter: new InProcessRateLimiter({ marginMs: 150 }),
        clock,
        logger: silentLogger,
        config: { ...testDeliveryConfig, appId: h.emulator.appId },
      });
      engines.push(e);
      return e;
    };
    const live = mk(systemClock);
    await live.start();
    const { notification } = await h.engine.submit(request({ conversations: [h.emulator.org.personalConversationId(0)] }), admin);
    // The live process holds a claimed row (as its claim leaves it), due far in the future so it does not send it.
    await store.deliveries.claim(live.workerId, notification.id, h.emulator.org.user(0).tenantId, Date.now() + 60_000, 10);
    const other = mk(stepping);
    await other.start();
    // It judges others once its own heartbeats have gone through for staleMs (1 s here; Liveness).
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await leaseOf(notification.id)).toBe(live.workerId);
    // NTP / VM resume steps the other machine's clock 60 s forward (staleMs is 1 s here).
    skew = 60_000;
    await new Promise((r) => setTimeout(r, 700));
    const owner = await leaseOf(notification.id);
    expect(owner).toBe(live.workerId);
  });
});
