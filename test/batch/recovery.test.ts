import { afterEach, expect, it } from "vitest";
import type { Notification } from "../../src/delivery/model.js";
import type { NotificationRequest } from "../../src/delivery/request.js";
import { forEachStore, rawRows } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

/** Poll `check` every 25 ms until it holds, for at most 20 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not in 20 s: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function control(h: BatchHarness, method: string, path: string, body: unknown): Promise<void> {
  const r = await fetch(`${h.emulator.url}/_emulator/${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
}

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

  /** A harness of `count` users (seeded) whose first POST, the batch submit, Teams answers `lateMs` late. */
  const withLateSubmit = async (count: number, lateMs: number): Promise<{ hh: BatchHarness; users: number[] }> => {
    const hh = await startBatchHarness(await stores.open(), { org: { users: count, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    h = hh;
    const users = Array.from({ length: count }, (_, i) => i);
    await hh.seedUsers(users);
    await control(hh, "PUT", "faults", { deliverLate: 1, deliverLateMs: lateMs, count: 1, method: "POST" });
    return { hh, users };
  };

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

  it("a stop while a submit waits for Teams' answer waits for it: the next engine polls that operation, rows end sent, not in doubt", async () => {
    // Four submits of 10, two at a time: the first to reach Teams is answered 4 s late; the other
    // is answered at once and polled, so the loop is waiting for a free slot when the engine stops.
    const { hh, users } = await withLateSubmit(40, 4_000);
    const first = await hh.engine({ batch: { size: 10, maxOperations: 2, pollMs: 100 } });
    const { notification } = await first.submit(batchOf(hh, users, "stopped mid-submit"), admin);
    await until("two operations started", () => hh.counter("batchOperations") >= 2);
    // The late answer is on its way: a stop that returned now (and retired this engine) left its
    // submit in doubt for the next engine's sweep, which ends its rows unknown though Teams has them.
    await first.stop();
    const second = await hh.engine();
    const done = await hh.waitFor(second, notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 40, unknown: 0, pending: 0 });
    for (const i of users) expect(hh.emulator.context.counts.get(i).received).toBe(1);
  });

  it("while stop() waits for a submit's answer, the single sends stop at once (they do not go on for the whole wait)", async () => {
    // The batch submit (the first POST) is answered 4 s late; single sends go 10 a second.
    const { hh, users } = await withLateSubmit(70, 4_000);
    const engine = await hh.engine({ config: { tenantRps: 10 } });
    await engine.submit(batchOf(hh, users.slice(0, 10), "batch"), admin);
    await until("the batch operation started", () => hh.counter("batchOperations") >= 1);
    const singles = users.slice(10);
    await engine.submit({ ...batchOf(hh, singles, "one by one"), delivery: { mode: "individual" } }, admin);
    const received = () => singles.reduce((n, i) => n + hh.emulator.context.counts.get(i).received, 0);
    await until("the single sends started", () => received() >= 3);
    const atStop = received();
    const started = Date.now();
    await engine.stop();
    // stop() waited for the late answer (about 4 s), during which the lanes had stopped: at most the
    // requests already on their way arrived after it was called (10 a second would be about 40).
    expect(Date.now() - started).toBeGreaterThan(2_000);
    expect(received() - atStop).toBeLessThanOrEqual(3);
  });

  it("a submit still unanswered after stop()'s 10 s bound: stop() returns, and the worker stays registered (its rows are judged by its heartbeat's age, not taken at once)", async () => {
    const { hh, users } = await withLateSubmit(10, 12_000);
    const engine = await hh.engine();
    await engine.submit(batchOf(hh, users, "late"), admin);
    await until("the batch operation started", () => hh.counter("batchOperations") >= 1);
    const started = Date.now();
    await engine.stop();
    const took = Date.now() - started;
    expect(took).toBeGreaterThan(9_000);
    expect(took).toBeLessThan(11_500);
    expect(await rawRows(stores, "delivery_workers", "id", engine.workerId)).toHaveLength(1);
  }, 40_000);
});
