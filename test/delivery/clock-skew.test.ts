import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Clock, systemClock } from "../../src/clock.js";
import { createDeliveryEngine, type DeliveryEngine } from "../../src/delivery/engine.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory, withPostgres } from "../helpers/stores.js";
import { admin, type Harness, request, startHarness, testDeliveryConfig } from "./helpers/harness.js";

/**
 * Processes sharing PostgreSQL compare each other's heartbeats and leases on the database's
 * clock, not their own: a process whose clock is 10 minutes ahead does not take a live process's
 * rows, and one 10 minutes behind still takes over a dead process's (staleMs 1 s in these tests).
 */
describe("postgres store: processes whose clocks disagree", () => {
  const stores = createStoreFactory("postgres");
  const schema = stores.options.schema ?? "";
  let store: Store;
  let h: Harness;
  const engines: DeliveryEngine[] = [];

  const skewed = (skewMs: number): Clock => ({ now: () => Date.now() + skewMs, sleep: systemClock.sleep });
  const engine = (skewMs: number): DeliveryEngine => {
    const e = createDeliveryEngine({
      store,
      connector: h.connector,
      limiter: new InProcessRateLimiter({ marginMs: 150 }),
      clock: skewed(skewMs),
      logger: silentLogger,
      config: { ...testDeliveryConfig, appId: h.emulator.appId },
    });
    engines.push(e);
    return e;
  };
  const sql = <T>(text: string, values: unknown[] = []): Promise<T[]> =>
    withPostgres(async (c) => (await c.query(text.replaceAll("$schema", `"${schema}"`), values)).rows as T[]);
  const leaseOf = async (notificationId: string): Promise<string | null> =>
    (
      await sql<{ lease_owner: string | null }>("select lease_owner from $schema.deliveries where notification_id = $1", [notificationId])
    )[0]?.lease_owner ?? null;
  const heartbeatOf = async (worker: string): Promise<number | undefined> => {
    const row = (await sql<{ heartbeat_at: string }>("select heartbeat_at from $schema.delivery_workers where id = $1", [worker]))[0];
    return row === undefined ? undefined : Number(row.heartbeat_at);
  };
  /** A notification to user `i` whose one row is claimed by `owner`, as a process's claim leaves it. */
  const claimedBy = async (owner: string, i: number): Promise<string> => {
    const conversation = h.emulator.org.personalConversationId(i);
    const { notification } = await h.engine.submit(request({ conversations: [conversation] }), admin);
    const jobs = await store.deliveries.claim(owner, notification.id, h.emulator.org.user(i).tenantId, Date.now() + 60_000, 10);
    expect(jobs).toHaveLength(1);
    return notification.id;
  };

  beforeAll(async () => {
    store = await stores.open();
    h = await startHarness(store, { emulator: { org: { users: 4 } }, start: false });
    await h.seedUsers([0, 1, 2, 3]);
  });
  // Each test's processes stop with it, whatever happened: none may take the next test's rows.
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((e) => e.stop()));
  });
  afterAll(async () => {
    await h.close();
    await stores.cleanup();
  });

  it("a process 10 minutes ahead does not take the rows of a live process 10 minutes behind", async () => {
    const behind = engine(-600_000);
    const id = await claimedBy(behind.workerId, 0);
    await behind.start();
    const ahead = engine(600_000);
    // start() heartbeats and recovers the work of processes it finds dead, before it returns.
    await ahead.start();
    expect(await leaseOf(id)).toBe(behind.workerId);
    // And at its next recoveries (one per heartbeat, 200 ms here), which start once its own
    // heartbeats have gone through for staleMs (1 s, Liveness): wait for that and two more heartbeats.
    const judging = Date.now() + 1_000;
    const first = await heartbeatOf(ahead.workerId);
    const deadline = Date.now() + 10_000;
    let beats = 0;
    for (let last = first; beats < 2 || Date.now() < judging + 1_000; ) {
      if (Date.now() > deadline) throw new Error("the ahead process stopped heartbeating");
      await new Promise((r) => setTimeout(r, 50));
      const now = await heartbeatOf(ahead.workerId);
      if (now !== last) beats++;
      last = now;
    }
    expect(await leaseOf(id)).toBe(behind.workerId);
    expect(await heartbeatOf(behind.workerId)).toBeDefined();
    expect(h.received(0).received).toBe(0);
  });

  it("a process 10 minutes behind takes over the rows of a dead process within the stale time", async () => {
    // A process that heartbeated (on the database's clock) and died holding a claimed row.
    await store.deliveries.heartbeat("dead-process", Date.now());
    const id = await claimedBy("dead-process", 1);
    const behind = engine(-600_000);
    await behind.start();
    const done = await h.waitFor(id, (n) => n.counts.sent === 1, 10_000);
    expect(done.counts.sent).toBe(1);
    expect(h.received(1).received).toBe(1);
    expect(await heartbeatOf("dead-process")).toBeUndefined();
  });
});
