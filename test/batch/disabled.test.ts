import { afterEach, expect, it } from "vitest";
import type { DeliveryEngine } from "../../src/delivery/engine.js";
import type { Delivery, Notification } from "../../src/delivery/model.js";
import type { NotificationRequest } from "../../src/delivery/request.js";
import { forEachStore } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const admin = { keyId: "test-admin" } as const;
const finished = (n: Notification): boolean => !n.active;

/** Poll `check` (10 a second) until it answers, with a deadline. */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * 403 BotDisabledByAdmin on a batch submit, on both stores, against the emulator over HTTP: the
 * batch path pauses the tenant exactly as a single send does (GET /v1/tenants shows it, rows
 * waiting), its rows go back to the ready queue (none failed, no attempt counted), nothing of the
 * paused tenant is taken into a batch while other tenants' rows go out, and after
 * POST /v1/tenants/{id}/resume the rows are submitted as batches; a pause that outlasts
 * HERALD_TENANT_DISABLED_TIMEOUT ends them as it ends single sends' rows.
 */
forEachStore((stores) => {
  let h: BatchHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const USERS = 40;

  /** Two tenants; every user's chat is stored. */
  const setup = async (config: { tenantDisabledTimeoutMs?: number } = {}) => {
    const store = await stores.open();
    const hh = await startBatchHarness(store, { org: { users: USERS, tenants: 2, blockedShare: 0, uninstalledShare: 0 } });
    h = hh;
    await hh.seedUsers(Array.from({ length: USERS }, (_, i) => i));
    const engine = await hh.engine({ config });
    const [a, b] = hh.emulator.org.tenants;
    if (!a || !b) throw new Error("the org has two tenants");
    const usersOf = (t: typeof a) => Array.from({ length: t.userCount }, (_, i) => t.userStart + i);
    return { hh, engine, a, b, usersA: usersOf(a), usersB: usersOf(b) };
  };
  const batchOf = (hh: BatchHarness, users: number[], text: string): NotificationRequest => ({
    audience: { users: users.map((i) => hh.emulator.org.user(i).id) },
    message: { text },
    delivery: { mode: "batch" },
  });
  const botDisabled = async (hh: BatchHarness, tenantId: string, disabled: boolean) => {
    const r = await fetch(`${hh.emulator.url}/_emulator/tenants/${encodeURIComponent(tenantId)}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ botDisabled: disabled }),
    });
    expect(r.status).toBe(200);
  };
  const received = (hh: BatchHarness, users: number[]) => users.map((i) => hh.emulator.context.counts.get(i).received);
  const rowsOf = async (hh: BatchHarness, engine: DeliveryEngine, id: string, tenantId: string): Promise<Delivery[]> =>
    (await hh.rows(engine, id)).filter((r) => r.tenantId === tenantId);

  it("a 403 BotDisabledByAdmin on the submit pauses the tenant; its rows wait (none failed, no attempt), none is taken while paused; after the resume they go out in batches, once", async () => {
    const { hh, engine, a, usersA, usersB } = await setup();
    await botDisabled(hh, a.id, true);
    const first = (await engine.submit(batchOf(hh, usersA, "first"), admin)).notification;
    // The tenant is paused as a single send's 403 pauses it, with the notification's rows waiting for it.
    const paused = await until("tenant A paused with its rows waiting", async () => {
      const t = (await engine.tenants({ state: "disabled" })).find((x) => x.tenantId === a.id);
      return t && t.waiting === usersA.length ? t : undefined;
    });
    expect(paused).toMatchObject({ state: "disabled", code: "BotDisabledByAdmin" });
    const waiting = await engine.get(first.id);
    expect(waiting?.counts).toMatchObject({ pending: usersA.length, failed: 0, sent: 0 });
    for (const r of await hh.rows(engine, first.id)) {
      expect(r.status).toBe("pending");
      expect(r.attempts).toBe(0);
      expect(r.lastErrorCode ?? "").not.toMatch(/^batch\//);
    }
    expect(hh.counter("disabled")).toBe(1);
    expect(hh.counter("batchOperations")).toBe(0);

    // A second notification to both tenants while A is paused: B's rows go out as a batch; A's are not taken.
    const second = (await engine.submit(batchOf(hh, [...usersA, ...usersB], "second"), admin)).notification;
    await hh.waitFor(engine, second.id, (n) => n.counts.sent === usersB.length);
    expect(hh.counter("disabled")).toBe(1); // no submit of tenant A
    expect(hh.counter("batchOperations")).toBe(1);
    for (const r of await rowsOf(hh, engine, second.id, a.id)) expect(r).toMatchObject({ status: "pending", attempts: 0 });
    expect((await engine.get(second.id))?.active).toBe(true);
    expect(received(hh, usersA)).toEqual(usersA.map(() => 0));

    // The admin allows the bot again; an operator resumes the tenant: both notifications' A rows are submitted.
    await botDisabled(hh, a.id, false);
    const { resumed } = await engine.resumeTenant(a.id);
    expect(resumed).toBe(true);
    const done1 = await hh.waitFor(engine, first.id, finished);
    const done2 = await hh.waitFor(engine, second.id, finished);
    expect(done1.counts).toMatchObject({ sent: usersA.length, failed: 0, unknown: 0 });
    expect(done2.counts).toMatchObject({ sent: USERS, failed: 0, unknown: 0 });
    // Sent through the batch path (one operation per notification for A), each user once per notification.
    for (const r of [...(await hh.rows(engine, first.id)), ...(await hh.rows(engine, second.id))])
      expect(r.lastErrorCode).toBe("batch/sent");
    expect(hh.counter("batchOperations")).toBe(3);
    expect(received(hh, usersA)).toEqual(usersA.map(() => 2));
    expect(received(hh, usersB)).toEqual(usersB.map(() => 1));
    expect(hh.counter("disabled")).toBe(1);
  });

  it("a pause that outlasts HERALD_TENANT_DISABLED_TIMEOUT ends the rows as single sends' rows end: failed 403/BotDisabledByAdmin, saying so", async () => {
    const { hh, engine, a, usersA } = await setup({ tenantDisabledTimeoutMs: 1_500 });
    await botDisabled(hh, a.id, true);
    const { notification } = await engine.submit(batchOf(hh, usersA, "never resumed"), admin);
    const done = await hh.waitFor(engine, notification.id, finished);
    expect(done.counts).toMatchObject({ failed: usersA.length, sent: 0, unknown: 0 });
    for (const r of await hh.rows(engine, notification.id)) {
      expect(r.status).toBe("failed");
      expect(r.lastErrorCode).toBe("403/BotDisabledByAdmin");
      // The timeout's words (as for single sends), not the submit's 403 at once.
      expect(r.lastErrorMessage).toMatch(/HERALD_TENANT_DISABLED_TIMEOUT/);
    }
    expect(hh.counter("disabled")).toBe(1);
    expect(hh.counter("batchOperations")).toBe(0);
    expect(received(hh, usersA)).toEqual(usersA.map(() => 0));
  });
});
