import { afterAll, beforeAll, expect, it } from "vitest";
import type { Notification } from "../../src/delivery/model.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import type { Store } from "../../src/store/ports.js";
import { conversationRows } from "../helpers/rows.js";
import { ageHeartbeat, forEachStore } from "../helpers/stores.js";

/**
 * Review, on SQLite and PostgreSQL: under HERALD_IN_FLIGHT_POLICY=resend a dead process's sends in
 * flight go back to the ready queue (Teams may have them). A DELETE that lands before they are
 * sent again must end them `unknown` (Teams may have the copy and there is no activity id to
 * delete it), not `canceled` (which says nothing reached anyone). On main the recall canceled them.
 */
forEachStore((stores) => {
  let store: Store;
  let d: DeliveryStore;
  const t0 = Date.parse("2025-03-01T09:00:00.000Z");
  beforeAll(async () => {
    store = await stores.open();
    d = store.deliveries;
  });
  afterAll(async () => {
    await stores.cleanup();
  });
  const rows = conversationRows;
  const sum = (x: Notification) => Object.values(x.counts).reduce((a, b) => a + b, 0);

  it("sends in flight at a crash, requeued under resend, then recalled before they go again: unknown, not canceled", async () => {
    const { notification: x } = await d.createNotification(
      {
        id: "n_requeued01",
        createdBy: "k",
        requestHash: "h",
        audience: { conversations: ["a:0", "a:1", "a:2"] },
        message: { text: "x" },
        createdAt: t0,
        expansionDone: true,
      },
      rows(3),
    );
    await d.heartbeat("dead", t0);
    await ageHeartbeat(stores, "dead", 3_600_000);
    const jobs = await d.claim("dead", x.id, "t1", t0 + 1, 3);
    await d.markInflight("dead", jobs.slice(0, 2), t0 + 2);
    // The third row was only claimed: it never left, so it returns to the queue as never tried.
    expect(await d.recover("alive", t0 + 30_000, "resend", t0 + 60_000, false)).toEqual({ released: 1, unknown: 0, requeued: 2 });
    const recalled = await d.requestRecall(x.id, t0 + 61_000);
    expect(recalled?.counts).toMatchObject({ pending: 0, unknown: 2, canceled: 1 });
    expect(sum(recalled as Notification)).toBe(3);
    const unknown = await d.listDeliveries(x.id, { status: "unknown" }, { limit: 10 });
    expect(unknown.items.map((r) => r.seq)).toEqual([0, 1]);
    for (const r of unknown.items) expect(r.lastErrorMessage).toMatch(/recalled/);
    expect(await d.claim("alive", x.id, "t1", t0 + 62_000, 10)).toEqual([]);
    expect(await d.finishIfDone([x.id], t0 + 63_000)).toEqual([x.id]);
  });
});
