import { afterEach, expect, it } from "vitest";
import type { Notification } from "../../src/delivery/model.js";
import { forEachStore } from "../helpers/stores.js";
import { admin, emulatorControl, finished, type Harness, pollUntil, request, startHarness } from "./helpers/harness.js";

/**
 * Review: a send whose request reached Teams but whose answer never came (a reset after Teams
 * did it), retried under HERALD_IN_FLIGHT_POLICY=resend, waits for its retry in the ready queue
 * when the DELETE lands. The recall must not call it `canceled` (nothing sent): Teams has the
 * message, with no activity id the recall cannot delete it, so the row ends `unknown`. On main
 * the recall ended it `canceled` (only a retry result landing after the recall was judged).
 */
const USERS = [0, 1, 2, 3];
const WARM = USERS.length;

forEachStore((stores) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const rowsOf = async (hh: Harness, id: string) => (await hh.store.deliveries.listDeliveries(id, {}, { limit: 100 })).items;

  it("a send in doubt waiting for its retry when the DELETE lands ends unknown, not canceled, and is not sent again", async () => {
    const store = await stores.open();
    const hh = await startHarness(store, {
      emulator: { org: { tenants: 1, users: USERS.length + 1 } },
      config: { inFlightPolicy: "resend", retry: { maxAttempts: 8, maxTotalMs: 3_600_000, baseMs: 600_000, capMs: 600_000 } },
    });
    h = hh;
    await hh.seedUsers([...USERS, WARM]);
    const tenantId = hh.emulator.org.user(0).tenantId;
    const warm = await hh.engine.submit(request({ users: [hh.emulator.org.user(WARM).id], tenantId }, { text: "warm-up" }), admin);
    await hh.waitFor(warm.notification.id, (n: Notification) => finished(n) && n.counts.sent === 1);
    await emulatorControl(hh, "PUT", "faults", { deliverReset: 1, count: USERS.length });
    const { notification } = await hh.engine.submit(
      request({ users: USERS.map((i) => hh.emulator.org.user(i).id), tenantId }, { text: "received, unanswered, waiting" }),
      admin,
    );
    const id = notification.id;
    await pollUntil(
      () => rowsOf(hh, id),
      (rows) =>
        rows.length === USERS.length && rows.every((r) => r.status === "pending" && r.attempts === 1 && r.lastErrorCode !== undefined),
      "every send done by Teams, unanswered, and waiting for its retry",
    );
    await emulatorControl(hh, "DELETE", "faults");
    const atRecall = USERS.map((i) => hh.received(i).received);
    expect(atRecall).toEqual(USERS.map(() => 1));
    const recalled = await hh.engine.recall(id, admin);
    // Teams has every copy and none can be deleted (no activity id): unknown, never canceled.
    expect(recalled.counts).toMatchObject({ unknown: USERS.length, canceled: 0, pending: 0, sent: 0 });
    const done = await hh.waitFor(id, finished);
    expect(done).toMatchObject({ status: "canceled", counts: { unknown: USERS.length, canceled: 0, pending: 0 } });
    const total = Object.values(done.counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(USERS.length);
    for (const r of await rowsOf(hh, id)) {
      expect(r.status).toBe("unknown");
      expect(r.lastErrorMessage).toMatch(/recall/);
    }
    expect(USERS.map((i) => hh.received(i).received)).toEqual(atRecall);
  });
});
