import { afterEach, expect, it } from "vitest";
import type { DeliveryEngine } from "../../src/delivery/engine.js";
import type { Notification } from "../../src/delivery/model.js";
import { forEachStore } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const admin = { keyId: "test-admin" } as const;
const finished = (n: Notification): boolean => !n.active;

/**
 * A tenant resumed between the batch path's take (which left its rows out: the tenant was
 * paused) and the check that follows it. The batch path read the pauses again for that check,
 * found none, and handed the notification to the dispatcher, which sent the paused tenant's
 * rows one by one (CI saw it once in test/batch/disabled.test.ts). The rows must go out as a
 * batch: the path takes again when a tenant it left out is no longer paused.
 */
forEachStore((stores) => {
  let h: BatchHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("a resume that lands right after a take left the tenant's rows out: they still go out as a batch, once", async () => {
    const store = await stores.open();
    const USERS = 10;
    const hh = await startBatchHarness(store, { org: { users: USERS, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    h = hh;
    await hh.seedUsers(Array.from({ length: USERS }, (_, i) => i));
    const tenant = hh.emulator.org.tenants[0];
    const batches = store.batches;
    if (!tenant || !batches) throw new Error("one tenant, and a store with the batch path");
    const setDisabled = async (botDisabled: boolean) => {
      const r = await fetch(`${hh.emulator.url}/_emulator/tenants/${encodeURIComponent(tenant.id)}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ botDisabled }),
      });
      expect(r.status).toBe(200);
    };
    // The first take that leaves the paused tenant out (0 rows) resumes it before it answers.
    let engine: DeliveryEngine | undefined;
    let resumed = false;
    const take = batches.take.bind(batches);
    batches.take = async (...args) => {
      const rows = await take(...args);
      if (!resumed && rows.length === 0 && args[5]?.includes(tenant.id) && engine) {
        resumed = true;
        await setDisabled(false);
        expect((await engine.resumeTenant(tenant.id)).resumed).toBe(true);
      }
      return rows;
    };
    engine = await hh.engine();
    await setDisabled(true);
    const users = Array.from({ length: USERS }, (_, i) => hh.emulator.org.user(i).id);
    const { notification } = await engine.submit(
      { audience: { users }, message: { text: "resumed mid-take" }, delivery: { mode: "batch" } },
      admin,
    );
    const done = await hh.waitFor(engine, notification.id, finished);
    expect(resumed).toBe(true);
    expect(done.counts).toMatchObject({ sent: USERS, failed: 0, unknown: 0 });
    for (const r of await hh.rows(engine, notification.id)) expect(r.lastErrorCode).toBe("batch/sent");
    expect(hh.counter("disabled")).toBe(1);
    expect(hh.counter("batchOperations")).toBe(1);
    expect(Array.from({ length: USERS }, (_, i) => hh.emulator.context.counts.get(i).received)).toEqual(
      Array.from({ length: USERS }, () => 1),
    );
  });
});
