import { afterEach, expect, it } from "vitest";
import type { BatchRow } from "../../src/delivery/batch/port.js";
import type { DeliveryConfig } from "../../src/delivery/config.js";
import type { DeliveryEngine } from "../../src/delivery/engine.js";
import type { Notification } from "../../src/delivery/model.js";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const admin = { keyId: "test-admin" } as const;
const finished = (n: Notification): boolean => !n.active;

/**
 * A tenant resumed after the batch path kept its rows back for a pause (a take left them out, or
 * a submit gave them back on a 403) and before the check that ends the loop. The batch path read
 * the pauses again for that check, found none, and handed the notification to the dispatcher,
 * which sent the paused tenant's rows one by one (CI saw it once in test/batch/disabled.test.ts).
 * The rows must go out as a batch: the check reads the rows and the store's pauses in one
 * statement and takes again when a tenant kept back for a pause is no longer paused and has a due
 * row. Only such tenants: other due rows (a submit in doubt under resend, rows another
 * transaction holds) go to the dispatcher, or the loop would not end.
 */
forEachStore((stores) => {
  let h: BatchHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const USERS = 10;

  /**
   * One tenant, every user's chat stored; `around(take, paused)` runs each batch take and may act
   * before and after it (`engine()` is the running engine).
   */
  async function setup(
    around: (take: () => Promise<BatchRow[]>, paused: readonly string[], engine: () => DeliveryEngine) => Promise<BatchRow[]>,
    config: Partial<DeliveryConfig> = {},
  ) {
    const store: Store = await stores.open();
    const hh = await startBatchHarness(store, { org: { users: USERS, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    h = hh;
    await hh.seedUsers(Array.from({ length: USERS }, (_, i) => i));
    const tenant = hh.emulator.org.tenants[0];
    const batches = store.batches;
    if (!tenant || !batches) throw new Error("one tenant, and a store with the batch path");
    let engine: DeliveryEngine | undefined;
    const running = (): DeliveryEngine => {
      if (!engine) throw new Error("the engine runs");
      return engine;
    };
    const take = batches.take.bind(batches);
    batches.take = (...args) => around(() => take(...args), args[5] ?? [], running);
    engine = await hh.engine({ config });
    const setDisabled = async (botDisabled: boolean) => {
      const r = await fetch(`${hh.emulator.url}/_emulator/tenants/${encodeURIComponent(tenant.id)}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ botDisabled }),
      });
      expect(r.status).toBe(200);
    };
    const submit = async () => {
      const users = Array.from({ length: USERS }, (_, i) => hh.emulator.org.user(i).id);
      const { notification } = await running().submit(
        { audience: { users }, message: { text: "resumed mid-take" }, delivery: { mode: "batch" } },
        admin,
      );
      return notification;
    };
    const send = async () => hh.waitFor(running(), (await submit()).id, finished);
    /** Every user got it once, through one batch operation; every row says so. */
    const sentAsOneBatch = async (done: Notification) => {
      expect(done.counts).toMatchObject({ sent: USERS, failed: 0, unknown: 0 });
      for (const r of await hh.rows(running(), done.id)) expect(r.lastErrorCode).toBe("batch/sent");
      expect(hh.counter("batchOperations")).toBe(1);
      expect(Array.from({ length: USERS }, (_, i) => hh.emulator.context.counts.get(i).received)).toEqual(
        Array.from({ length: USERS }, () => 1),
      );
    };
    return { hh, store, tenant, engine: running, setDisabled, submit, send, sentAsOneBatch };
  }

  it("the process's own pause (a 403 on its submit), resumed right after a take left the rows out: they go out as a batch, once", async () => {
    let resumed = false;
    const { hh, tenant, setDisabled, send, sentAsOneBatch } = await setup(async (take, paused, engine) => {
      const rows = await take();
      if (!resumed && rows.length === 0 && paused.includes(tenant.id)) {
        resumed = true;
        await setDisabled(false);
        await engine().resumeTenant(tenant.id);
      }
      return rows;
    });
    await setDisabled(true);
    const done = await send();
    expect(resumed).toBe(true);
    await sentAsOneBatch(done);
    expect(hh.counter("disabled")).toBe(1);
  });

  it("a pause only in the store (another process's), resumed right after a take left the rows out: they go out as a batch, once", async () => {
    let paused = false;
    let resumed = false;
    const { hh, store, tenant, send, sentAsOneBatch } = await setup(async (take, pausedHere, engine) => {
      if (!paused) {
        // Another process met the 403 and stored the pause; this one has not read it yet.
        paused = true;
        expect(pausedHere).toEqual([]);
        await store.deliveries.pauseTenant(tenant.id, "BotDisabledByAdmin", Date.now());
      }
      const rows = await take();
      if (!resumed && rows.length === 0) {
        resumed = true;
        await engine().resumeTenant(tenant.id);
      }
      return rows;
    });
    const done = await send();
    expect(resumed).toBe(true);
    await sentAsOneBatch(done);
    expect(hh.counter("disabled")).toBe(0);
  });

  it("a pause the process still holds that the store no longer has (another process resumed it just before a take): a take or two find nothing, no loop", async () => {
    let counting = false;
    let resumedInStore = false;
    let empty = 0;
    const { hh, store, tenant, engine, setDisabled, submit, sentAsOneBatch } = await setup(async (take, paused) => {
      if (counting && !resumedInStore && paused.includes(tenant.id)) {
        // Another process resumed the tenant after this one's poll read the pauses: the store says so, this process not yet.
        resumedInStore = true;
        expect(await store.deliveries.resumeTenant(tenant.id)).toBe(true);
      }
      const rows = await take();
      if (resumedInStore && rows.length === 0) empty++;
      return rows;
    });
    await setDisabled(true);
    const notification = await submit();
    await hh.waitFor(engine(), notification.id, (n) => n.counts.pending === USERS && hh.counter("disabled") === 1);
    await setDisabled(false);
    counting = true;
    const done = await hh.waitFor(engine(), notification.id, finished);
    expect(resumedInStore).toBe(true);
    await sentAsOneBatch(done);
    // Until this process reads the resume (its next poll), its own pause holds the rows: a take or two
    // find nothing; a loop of takes makes dozens to hundreds.
    expect(empty).toBeGreaterThanOrEqual(1);
    expect(empty).toBeLessThanOrEqual(4);
  });

  it("a 403 on a submit, resumed right after its rows went back (before the loop's last check): they go out as a batch, once", async () => {
    let resumed = false;
    const { hh, store, tenant, engine, setDisabled, send, sentAsOneBatch } = await setup((take) => take());
    const batches = store.batches;
    if (!batches) throw new Error("a store with the batch path");
    const release = batches.release.bind(batches);
    batches.release = async (...args) => {
      await release(...args);
      if (!resumed) {
        // The admin allows the bot again and an operator resumes the tenant at once.
        resumed = true;
        await setDisabled(false);
        await engine().resumeTenant(tenant.id);
      }
    };
    await setDisabled(true);
    const done = await send();
    expect(resumed).toBe(true);
    await sentAsOneBatch(done);
    expect(hh.counter("disabled")).toBe(1);
  });

  it("HERALD_IN_FLIGHT_POLICY=resend and a gateway that answers every request 502 after doing it: one batch submit, then the dispatcher's backoff, not a loop of submits", async () => {
    const { hh, submit } = await setup((take) => take(), { inFlightPolicy: "resend" });
    const r = await fetch(`${hh.emulator.url}/_emulator/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ deliver502: 1 }),
    });
    expect(r.ok).toBe(true);
    await submit();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(hh.counter("batchOperations")).toBe(1);
    for (let i = 0; i < USERS; i++) expect(hh.emulator.context.counts.get(i).received).toBeLessThanOrEqual(5);
  });

  it("readyTenants: each tenant with ready batchable rows, paused as the store says, due as of the time given", async () => {
    const store = await stores.open();
    const hh = await startBatchHarness(store, { org: { users: USERS, tenants: 2, blockedShare: 0, uninstalledShare: 0 } });
    h = hh;
    await hh.seedUsers(Array.from({ length: USERS }, (_, i) => i));
    const [a, b] = hh.emulator.org.tenants;
    if (!a || !b || !store.batches) throw new Error("two tenants, and a store with the batch path");
    await store.deliveries.pauseTenant(a.id, "BotDisabledByAdmin", Date.now());
    const engine = await hh.engine();
    const users = Array.from({ length: USERS }, (_, i) => hh.emulator.org.user(i).id);
    const { notification } = await engine.submit(
      { audience: { users }, message: { text: "A paused" }, delivery: { mode: "batch" } },
      admin,
    );
    await hh.waitFor(engine, notification.id, (n) => n.counts.sent === b.userCount);
    await engine.stop();
    expect(await store.batches.readyTenants(notification.id, Date.now())).toEqual([{ tenantId: a.id, paused: true, due: true }]);
    expect(await store.batches.readyTenants(notification.id, 0)).toEqual([{ tenantId: a.id, paused: true, due: false }]);
    expect(await store.deliveries.resumeTenant(a.id)).toBe(true);
    expect(await store.batches.readyTenants(notification.id, Date.now())).toEqual([{ tenantId: a.id, paused: false, due: true }]);
    expect(await store.batches.readyTenants("no-such-notification", Date.now())).toEqual([]);
  });
});
