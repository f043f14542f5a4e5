import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { DeliveryEngine } from "../../src/delivery/engine.js";
import type { Notification } from "../../src/delivery/model.js";
import type { NotificationRequest } from "../../src/delivery/request.js";
import type { BatchOperations } from "../../src/emulator/connector/batch-ops.js";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const admin = { keyId: "test-admin" } as const;
const finished = (n: Notification): boolean => !n.active;
const hhmm = (ms: number): string => new Date(ms).toISOString().slice(11, 16);

/**
 * Rows taken into a batch pass the same claim-time holds as single sends (quiet hours, frequency
 * cap, an opt-out made after acceptance), batch sends count in the engine's figures, and failed
 * entries Herald cannot map to its rows never leave those rows claiming `sent`. Both stores.
 */
forEachStore((stores) => {
  let store: Store;
  let h: BatchHarness;
  let engine: DeliveryEngine;
  const USERS = 100;
  const user = (i: number) => h.emulator.org.user(i);
  const tenantId = () => user(0).tenantId;
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
  const batchOf = (users: number[], text: string, extra: Partial<NotificationRequest> = {}): NotificationRequest => ({
    audience: { users: users.map((i) => user(i).id), tenantId: tenantId() },
    message: { text },
    delivery: { mode: "batch" },
    ...extra,
  });
  const received = (users: number[]) => users.reduce((sum, i) => sum + h.emulator.context.counts.get(i).received, 0);
  const batches = (): BatchOperations => h.emulator.context.batches;
  const originalStart = () => Object.getPrototypeOf(batches()).start as BatchOperations["start"];

  beforeAll(async () => {
    store = await stores.open();
    h = await startBatchHarness(store, { org: { users: USERS, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    await h.seedUsers(range(0, USERS));
    engine = await h.engine({ batch: { size: 100 } });
  });
  afterEach(async () => {
    // Back to the emulator's own start, no quiet hours, no cap.
    (batches() as { start: BatchOperations["start"] }).start = originalStart();
    await store.preferences.putTenantSettings({ tenantId: tenantId(), updatedAt: new Date().toISOString() });
    store.deliveries.configureHolds?.({});
  });
  afterAll(async () => {
    await h?.close();
  });

  /** Rows of `id`, polled until `until` holds for them. */
  const rowsWhen = async (id: string, until: (rows: Awaited<ReturnType<BatchHarness["rows"]>>) => boolean) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const rows = await h.rows(engine, id);
      if (until(rows)) return rows;
      if (Date.now() > deadline) throw new Error(`rows never matched: ${JSON.stringify(rows.slice(0, 3))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it("quiet hours hold rows taken for a batch: nothing is submitted, each row shows heldUntil and heldReason", async () => {
    const now = Date.now();
    await store.preferences.putTenantSettings({
      tenantId: tenantId(),
      timeZone: "UTC",
      quietHours: { start: hhmm(now - 3_600_000), end: hhmm(now + 3_600_000) },
      updatedAt: new Date(now).toISOString(),
    });
    const users = range(0, 20);
    const ops = h.counter("batchOperations");
    const { notification } = await engine.submit(batchOf(users, "in quiet hours"), admin);
    const rows = await rowsWhen(notification.id, (rs) => rs.length === users.length && rs.every((r) => r.heldReason !== undefined));
    for (const r of rows) {
      expect(r.status).toBe("pending");
      expect(r.heldReason).toBe("quietHours");
      expect(Date.parse(r.heldUntil ?? "")).toBeGreaterThan(now + 3_000_000);
      // Not left saying it waits on a batch submit.
      expect(r.lastErrorCode ?? null).toBeNull();
    }
    expect(h.counter("batchOperations") - ops).toBe(0);
    expect(received(users)).toBe(0);
  });

  it("the frequency cap holds batch rows (never drops them); they go out once, one by one, when the window lets them", async () => {
    store.deliveries.configureHolds?.({ frequencyCap: { count: 1, windowMs: 2_500 } });
    const users = range(20, 20);
    const first = await engine.submit(batchOf(users, "first"), admin);
    expect((await h.waitFor(engine, first.notification.id, finished)).counts.sent).toBe(users.length);
    const ops = h.counter("batchOperations");
    const second = await engine.submit(batchOf(users, "second"), admin);
    const held = await rowsWhen(second.notification.id, (rs) => rs.length === users.length && rs.every((r) => r.heldReason !== undefined));
    for (const r of held) expect(r).toMatchObject({ status: "pending", heldReason: "frequencyCap" });
    expect(received(users)).toBe(users.length);
    const done = await h.waitFor(engine, second.notification.id, finished);
    expect(done.counts).toMatchObject({ sent: users.length, pending: 0 });
    // Each person got each notification exactly once; the held ones went one by one (with activity ids).
    for (const i of users) expect(h.emulator.context.counts.get(i).received).toBe(2);
    expect(h.counter("batchOperations") - ops).toBe(0);
    for (const r of await h.rows(engine, second.notification.id)) expect(r.activityId).toBeDefined();
  });

  it("an opt-out made after the notification was accepted ends the row optedOut; it is never submitted; sends are counted in the engine's figures", async () => {
    const users = range(40, 10);
    const entries = h.counter("batchEntries");
    const sentBefore = engine.stats().sent;
    const { notification } = await engine.submit(
      batchOf(users, "scheduled", { schedule: new Date(Date.now() + 1_500).toISOString() }),
      admin,
    );
    await store.preferences.setOptedOut(tenantId(), user(40).id, true, new Date().toISOString());
    const done = await h.waitFor(engine, notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 9, optedOut: 1, pending: 0 });
    expect(h.emulator.context.counts.get(40).received).toBe(0);
    expect(h.counter("batchEntries") - entries).toBe(9);
    const rows = await h.rows(engine, notification.id);
    expect(rows.filter((r) => r.status === "optedOut").map((r) => r.conversationId)).toEqual([h.emulator.org.personalConversationId(40)]);
    expect(rows.filter((r) => r.lastErrorCode === "batch/sent")).toHaveLength(9);
    // herald_deliveries_total{outcome="sent"} reads these figures.
    expect(engine.stats().sent - sentBefore).toBe(9);
  });

  it("a failed entry naming an id Herald did not send: the rows it cannot account for end unknown, naming the operation", async () => {
    const ids: string[] = [];
    (batches() as { start: BatchOperations["start"] }).start = function (this: BatchOperations, ...args) {
      const op = originalStart().apply(this, args);
      ids.push(op.id);
      op.failed.push({ id: "29:someone-herald-never-named", error: "ConversationNotFound" });
      op.statusMap.set(404, (op.statusMap.get(404) ?? 0) + 1);
      op.failedTotal++;
      return op;
    };
    const users = range(60, 10);
    const failedBefore = engine.stats().unknown;
    const { notification } = await engine.submit(batchOf(users, "stranger in the failed entries"), admin);
    const done = await h.waitFor(engine, notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 0, unknown: users.length, pending: 0 });
    expect(ids).toHaveLength(1);
    for (const r of await h.rows(engine, notification.id)) {
      expect(r.status).toBe("unknown");
      expect(r.lastErrorMessage).toContain(ids[0]!);
      expect(r.lastErrorMessage).toMatch(/no recipient Herald sent/);
    }
    expect(engine.stats().unknown - failedBefore).toBe(users.length);
  });

  it("a status count of more failures than failed entries: the rows that cannot be confirmed end unknown", async () => {
    const ids: string[] = [];
    (batches() as { start: BatchOperations["start"] }).start = function (this: BatchOperations, ...args) {
      const op = originalStart().apply(this, args);
      ids.push(op.id);
      op.statusMap.set(500, (op.statusMap.get(500) ?? 0) + 1);
      return op;
    };
    const users = range(70, 10);
    const { notification } = await engine.submit(batchOf(users, "a failure nobody names"), admin);
    const done = await h.waitFor(engine, notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 0, unknown: users.length });
    for (const r of await h.rows(engine, notification.id)) {
      expect(r.lastErrorMessage).toContain(ids[0]!);
      expect(r.lastErrorMessage).toMatch(/counts 1 failed/);
    }
  });
});
