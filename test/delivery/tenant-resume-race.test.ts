import { afterAll, beforeAll, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";
import { admin, emulatorControl, finished, type Harness, request, startHarness } from "./helpers/harness.js";

const dayMs = 24 * 3_600_000;

/**
 * A resume that lands while a poll is reading the pauses: the poll must neither pause the tenant
 * again nor sweep its rows as timed out (HERALD_TENANT_DISABLED_TIMEOUT), though what it read
 * still shows the old pause. The store's `tenantPauses` is held open by the test to make the race
 * happen every time.
 */
forEachStore((stores) => {
  let h: Harness;
  let offset = 0;
  const clock = { now: () => Date.now() + offset, sleep: systemClock.sleep };
  let hold: Promise<void> | undefined;
  let held = false;
  const swept: string[] = [];

  beforeAll(async () => {
    const store = await stores.open();
    const deliveries = new Proxy(store.deliveries, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target) as unknown;
        if (typeof value !== "function") return value;
        if (prop === "tenantPauses")
          return async () => {
            const read = await target.tenantPauses();
            if (hold) {
              held = true;
              await hold;
            }
            return read;
          };
        if (prop === "expireTenantRows")
          return (tenantId: string, ...rest: unknown[]) => {
            swept.push(tenantId);
            return (value as (...a: unknown[]) => unknown).apply(target, [tenantId, ...rest]);
          };
        return value.bind(target);
      },
    }) as DeliveryStore;
    const wrapped = new Proxy(store, { get: (t, p) => (p === "deliveries" ? deliveries : Reflect.get(t, p, t)) }) as Store;
    h = await startHarness(wrapped, { clock, emulator: { org: { tenants: 1, users: 6 } }, config: { tenantDisabledTimeoutMs: dayMs } });
    await h.seedUsers([0, 1, 2, 3, 4, 5]);
  });
  afterAll(async () => {
    await h.close();
  });

  const control = async (path: string, method: string, body?: unknown) => {
    await emulatorControl(h, method, path, body);
  };
  const until = async (what: string, check: () => boolean | Promise<boolean>) => {
    const deadline = Date.now() + 15_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not before the deadline: ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it("a tenant resumed while a poll read the pauses is not paused again and its rows are not swept", async () => {
    const tenant = h.emulator.org.tenants[0]!.id;
    await control(`tenants/${tenant}`, "PATCH", { botDisabled: true });
    const { notification } = await h.engine.submit(
      request({ conversations: [0, 1, 2].map((i) => h.emulator.org.personalConversationId(i)) }),
      admin,
    );
    await until("the tenant paused in the store", async () => (await h.store.deliveries.tenantPauses()).some((p) => p.tenantId === tenant));
    // The next poll reads the pause, then waits; meanwhile the pause outlives the timeout and is resumed.
    let release!: () => void;
    hold = new Promise<void>((r) => {
      release = r;
    });
    await until("a poll holding the pauses it read", () => held);
    offset += dayMs + 60_000;
    await control(`tenants/${tenant}`, "PATCH", { botDisabled: false });
    expect((await h.engine.resumeTenant(tenant)).resumed).toBe(true);
    swept.length = 0;
    hold = undefined;
    release();
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 3, failed: 0, pending: 0 });
    expect(swept).not.toContain(tenant);
  });
});
