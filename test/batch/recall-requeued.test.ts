import { afterEach, expect, it } from "vitest";
import { forEachStore } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const admin = { keyId: "test-admin" } as const;

/**
 * Review: a dead process's unanswered batch submit, taken over under HERALD_IN_FLIGHT_POLICY=resend,
 * goes back to the ready queue (Teams may have started it). A DELETE landing before it is
 * submitted again must end those rows `unknown` (Teams may have delivered them, and batch copies
 * can never be deleted), not `canceled` (nothing reached anyone). On main the recall canceled them.
 */
forEachStore((stores) => {
  let h: BatchHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("a dead process's submit requeued under resend, then recalled before it goes again: its rows end unknown, not canceled", async () => {
    const store = await stores.open();
    const hh = await startBatchHarness(store, { org: { users: 4, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    h = hh;
    const users = [0, 1, 2, 3];
    await hh.seedUsers(users);
    const engine = await hh.engine({ config: { inFlightPolicy: "resend" } });
    const at = Date.now() + 3_600_000;
    const { notification } = await engine.submit(
      {
        audience: { users: users.map((i) => hh.emulator.org.user(i).id), tenantId: hh.emulator.org.user(0).tenantId },
        message: { text: "scheduled" },
        delivery: { mode: "batch" },
        schedule: new Date(at).toISOString(),
      },
      admin,
    );
    const batches = store.batches;
    if (!batches) throw new Error("no batch store");
    // A process (no heartbeat: dead) took the rows and died before Teams answered its submit.
    expect(await batches.take(notification.id, "sub-dead", 100, at + 1_000, "worker-dead")).toHaveLength(4);
    const now = Date.now();
    const recovered = await batches.recoverSubmits(
      { self: "worker-live", staleBefore: now - 1_000, now, othersAreDead: !store.deliveries.shared, busy: new Set(), unowned: false },
      "resend",
      { status: "unknown", code: "HERALD_E_IN_FLIGHT", message: "in flight" },
    );
    expect(recovered.map((r) => r.rows)).toEqual([4]);
    const recalled = await engine.recall(notification.id, admin);
    expect(recalled.counts).toMatchObject({ unknown: 4, canceled: 0, pending: 0 });
    const rows = await hh.rows(engine, notification.id);
    expect(rows.map((r) => r.status)).toEqual(["unknown", "unknown", "unknown", "unknown"]);
    expect(hh.counter("batchOperations")).toBe(0);
  });
});
