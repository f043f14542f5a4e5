import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewDelivery } from "../../src/delivery/model.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory, withPostgres } from "../helpers/stores.js";

/**
 * On PostgreSQL a lease (a worker's heartbeat) is written and judged on the database's clock
 * (`now()`), whatever time the process passes: a process whose clock is an hour off, and that
 * has not measured the database's clock yet (or measured it before its clock stepped), neither
 * takes a live worker's rows nor keeps a dead worker's rows for an hour. The store is called
 * directly with the skewed times such a process would pass.
 */
describe("postgres store: leases on the database's clock", () => {
  const stores = createStoreFactory("postgres");
  const hour = 3_600_000;
  const staleMs = 400;
  let store: Store;
  let d: DeliveryStore;
  let n = 0;

  beforeAll(async () => {
    store = await stores.open();
    d = store.deliveries;
  });
  afterAll(async () => {
    await stores.cleanup();
  });

  /** A notification of one row, claimed by `owner`; its id. */
  const claimed = async (owner: string, now: number): Promise<string> => {
    const id = `n_lease${++n}`;
    const row: NewDelivery = {
      recipientKey: `conv:l:${n}`,
      kind: "conversation",
      tenantId: "t1",
      conversationId: `l:${n}`,
      serviceUrl: "https://smba.example/",
      status: "pending",
    };
    await d.createNotification(
      {
        id,
        createdBy: "k",
        requestHash: "h",
        audience: { conversations: [`l:${n}`] },
        message: { text: "x" },
        createdAt: now,
        expansionDone: true,
      },
      [row],
    );
    expect(await d.claim(owner, id, "t1", now + 1, 1)).toHaveLength(1);
    return id;
  };
  const leaseOf = async (id: string): Promise<string | null> =>
    withPostgres(
      async (c) =>
        (
          await c.query<{ lease_owner: string | null }>(
            `select lease_owner from "${stores.options.schema}".deliveries where notification_id = $1`,
            [id],
          )
        ).rows[0]?.lease_owner ?? null,
    );

  it("a process whose clock is an hour ahead does not take the rows of a live worker whose clock is an hour behind", async () => {
    const behind = Date.now() - hour;
    await d.heartbeat("live-behind", behind);
    const id = await claimed("live-behind", behind);
    const ahead = Date.now() + hour;
    await d.heartbeat("thief-ahead", ahead);
    const r = await d.recover("thief-ahead", ahead - staleMs, "unknown", ahead, false);
    expect(r).toEqual({ released: 0, unknown: 0, requeued: 0 });
    expect(await leaseOf(id)).toBe("live-behind");
  });

  it("a dead worker whose clock was an hour ahead loses its rows once its heartbeat is stale on the database's clock", async () => {
    const beat = Date.now();
    const ahead = beat + hour;
    await d.heartbeat("dead-ahead", ahead);
    const id = await claimed("dead-ahead", ahead);
    // It dies now. A process with a right clock takes its rows over once it is silent for staleMs.
    await d.heartbeat("rescuer", Date.now());
    const deadline = Date.now() + 10_000;
    for (;;) {
      const now = Date.now();
      await d.heartbeat("rescuer", now);
      await d.recover("rescuer", now - staleMs, "unknown", now, false);
      if ((await leaseOf(id)) === null) break;
      if (now > deadline)
        throw new Error("the dead worker's row was never taken over (its heartbeat was judged on its own clock, an hour ahead)");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Not before its heartbeat was staleMs old.
    expect(Date.now() - beat).toBeGreaterThanOrEqual(staleMs - 50);
  });
});
