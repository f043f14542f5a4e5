import { afterEach, expect, it } from "vitest";
import type { Notification } from "../../src/delivery/model.js";
import type { NotificationRequest } from "../../src/delivery/request.js";
import { forEachStore } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const admin = { keyId: "test-admin" } as const;
const finished = (n: Notification): boolean => !n.active;

/**
 * The batch path's requests under Teams' limits, and across a restart, on both stores (each test
 * its own emulator; the store is shared, so one engine at a time runs on it).
 */
forEachStore((stores) => {
  let h: BatchHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const batchOf = (hh: BatchHarness, users: number[], text: string): NotificationRequest => ({
    audience: { users: users.map((i) => hh.emulator.org.user(i).id), tenantId: hh.emulator.org.user(0).tenantId },
    message: { text },
    delivery: { mode: "batch" },
  });

  it("a throttled submit waits for Retry-After: every operation starts, nothing is sent early, each user gets it once", async () => {
    const store = await stores.open();
    // Two requests per second for the tenant, and no ceiling of Herald's own: its submits meet 429s.
    h = await startBatchHarness(store, { tenantRps: 2, org: { users: 120, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    await h.seedUsers(Array.from({ length: 120 }, (_, i) => i));
    // One operation at a time: no request is in flight when a 429 comes back, so any early one would be a violation.
    const engine = await h.engine({ batch: { size: 20, maxOperations: 1 } });
    const users = Array.from({ length: 120 }, (_, i) => i);
    const { notification } = await engine.submit(batchOf(h, users, "throttled"), admin);
    const done = await h.waitFor(engine, notification.id, finished, 60_000);
    expect(done.counts.sent).toBe(120);
    expect(h.counter("throttled")).toBeGreaterThan(0);
    // No request came before the Retry-After it was given had elapsed.
    expect(h.counter("violations")).toBe(0);
    expect(h.counter("batchOperations")).toBe(6);
    for (const i of users) expect(h.emulator.context.counts.get(i).received).toBe(1);
  });

  it("a restart while an operation runs polls the stored operation id again: one submit, one copy each, rows end sent", async () => {
    const store = await stores.open();
    h = await startBatchHarness(store, { org: { users: 50, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    await h.seedUsers(Array.from({ length: 50 }, (_, i) => i));
    // The first engine submits, then waits minutes before its first poll: it stops before asking.
    const first = await h.engine({ batch: { pollMs: 600_000 } });
    const users = Array.from({ length: 50 }, (_, i) => i);
    const { notification } = await first.submit(batchOf(h, users, "across a restart"), admin);
    const deadline = Date.now() + 20_000;
    for (;;) {
      const rows = await h.rows(first, notification.id);
      if (rows.length === 50 && rows.every((r) => r.lastErrorCode === "batch/running")) break;
      if (Date.now() > deadline) throw new Error(`rows never waited on an operation: ${JSON.stringify(rows.slice(0, 2))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    await first.stop();
    expect(h.counter("batchOperations")).toBe(1);
    expect((await first.get(notification.id))?.counts.pending).toBe(50);

    const second = await h.engine();
    const done = await h.waitFor(second, notification.id, finished);
    expect(done.counts.sent).toBe(50);
    expect(h.counter("batchOperations")).toBe(1);
    expect(h.counter("sends")).toBe(50);
    for (const i of users) expect(h.emulator.context.counts.get(i).received).toBe(1);
  });
});
