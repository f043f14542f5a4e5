import { randomBytes } from "node:crypto";
import { afterEach, expect, it } from "vitest";
import type { ConnectorClient } from "../../src/connector/client.js";
import type { DeliveryConfig } from "../../src/delivery/config.js";
import type { DeliveryStore, WorkBatch } from "../../src/delivery/store/port.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/ports.js";
import { addsUp, admin, finished, type Harness, request, startHarness } from "../delivery/helpers/harness.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

/**
 * A process whose heartbeats stop reaching the database (cut off from it, not from Teams) holds
 * every request once nearly staleMs has passed since its last heartbeat went through: the others
 * may judge it dead by then and take over its rows, in flight or marked ahead of their slot
 * (Liveness.fenced). Once a heartbeat goes through again it sends the rest, each once.
 *
 * A real engine on PostgreSQL (its own schema) whose heartbeats fail while `down` is set; its
 * other writes go through, so what stops the sends is the fence, not a failing write.
 */
const heartbeatMs = 100;
const staleMs = 800;
/** From the last heartbeat that went through to the fence (Liveness.fenced). */
const fenceAfterMs = staleMs - heartbeatMs;
let down = false;
/** The database's clock read never answers while set (a query on a connection that died without a reset). */
let clockStuck = false;
/** The next heartbeat never answers (then this is cleared). */
let nextHeartbeatStuck = false;
/** Every heartbeat is written this late (a slow database, not a dead one). */
let heartbeatDelayMs = 0;
const opened: { h: Harness; store: Store; schema: string }[] = [];

afterEach(async () => {
  down = false;
  clockStuck = false;
  nextHeartbeatStuck = false;
  heartbeatDelayMs = 0;
  for (const { h, store, schema } of opened.splice(0)) {
    await h.close();
    await store.close();
    await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
  }
});

/** The store with heartbeats that fail while `down` (and, when given, marks written `markDelayMs` late). */
function cutOff(s: Store, markDelayMs = 0): Store {
  const deliveries = new Proxy(s.deliveries, {
    get(target, prop) {
      if (prop === "heartbeat")
        return (owner: string, now: number) => {
          if (down) return Promise.reject(new Error("connection refused (test: heartbeats cut off)"));
          if (!nextHeartbeatStuck)
            return heartbeatDelayMs > 0
              ? new Promise<void>((r) => setTimeout(r, heartbeatDelayMs)).then(() => target.heartbeat(owner, now))
              : target.heartbeat(owner, now);
          nextHeartbeatStuck = false;
          return new Promise<never>(() => undefined);
        };
      if (prop === "databaseNow") return () => (clockStuck ? new Promise<never>(() => undefined) : target.databaseNow());
      if (prop === "writeBatch" && markDelayMs > 0)
        return async (owner: string, batch: WorkBatch, now: number) => {
          if (batch.marks.length > 0) await new Promise((r) => setTimeout(r, markDelayMs));
          return target.writeBatch(owner, batch, now);
        };
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as DeliveryStore;
  return new Proxy(s, {
    get(target, prop) {
      if (prop === "deliveries") return deliveries;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

async function fencedEngine(
  users: number,
  config: Partial<DeliveryConfig>,
  options: { markDelayMs?: number; requestTimes?: number[] } = {},
): Promise<{ h: Harness; schema: string }> {
  const schema = `herald_fence_${randomBytes(5).toString("hex")}`;
  const store = await openStore(testPostgresUrl, { schema });
  const times = options.requestTimes;
  const h = await startHarness(cutOff(store, options.markDelayMs), {
    emulator: { org: { users } },
    config: { heartbeatMs, staleMs, ...config },
    // Every request to Teams, timed as it leaves.
    ...(times && {
      wrapConnector: (c: ConnectorClient) =>
        new Proxy(c, {
          get(target, prop) {
            const v = Reflect.get(target, prop, target) as unknown;
            if (typeof v !== "function") return v;
            return (...args: unknown[]) => {
              if (prop === "sendToConversation" || prop === "startBatch") times.push(performance.now());
              return (v as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        }),
    }),
  });
  opened.push({ h, store, schema });
  await h.seedUsers(Array.from({ length: users }, (_, i) => i));
  return { h, schema };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const receivedBy = (h: Harness, users: readonly number[]) => users.reduce((sum, i) => sum + h.received(i).received, 0);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** Rows this engine holds (claimed or marked in flight), read from the database. */
async function held(schema: string, owner: string): Promise<number> {
  return withPostgres(async (c) =>
    Number(
      (
        await c.query(`select count(*) as n from "${schema}".deliveries where lease_owner = $1 and queue in ('claimed', 'inflight')`, [
          owner,
        ])
      ).rows[0].n,
    ),
  );
}

it("heartbeats cut off midway through a broadcast: nothing leaves while fenced, what it held goes back; then everyone gets it once", async () => {
  const users = range(0, 60);
  // 20 messages a second: the broadcast lasts about 3 s, long enough to cut the heartbeats off midway.
  const { h, schema } = await fencedEngine(users.length, { tenantRps: 20 });
  const conversations = users.map((i) => h.emulator.org.personalConversationId(i));
  const { notification } = await h.engine.submit(request({ conversations }, { text: "fenced" }), admin);
  await h.waitFor(notification.id, (n) => n.counts.sent >= 5, 10_000);
  down = true;
  // Fenced from fenceAfterMs after the last heartbeat that went through; a request that left just
  // before is answered within the margin (the emulator answers at once).
  await sleep(fenceAfterMs + 3 * heartbeatMs);
  expect(h.engine.fenced()).toBe(true);
  const sentBefore = receivedBy(h, users);
  expect(sentBefore).toBeGreaterThanOrEqual(5);
  expect(sentBefore).toBeLessThan(users.length - 20);
  // A second (20 sends at this rate): nothing leaves, and nothing stays claimed or marked by this process.
  await sleep(1_000);
  expect(receivedBy(h, users)).toBe(sentBefore);
  expect(await held(schema, h.engine.workerId)).toBe(0);
  down = false;
  const done = await h.waitFor(notification.id, finished, 20_000);
  expect(h.engine.fenced()).toBe(false);
  expect(done.counts).toMatchObject({ sent: users.length, pending: 0, unknown: 0 });
  expect(addsUp(done)).toBe(true);
  for (const i of users) expect(h.received(i).received).toBe(1);
}, 60_000);

it("fenced: neither a batch submit nor single sends leave; once a heartbeat goes through, both are sent once", async () => {
  const users = range(0, 20);
  const { h } = await fencedEngine(users.length, { tenantRps: 20 });
  const org = h.emulator.org;
  down = true;
  await sleep(fenceAfterMs + 3 * heartbeatMs);
  expect(h.engine.fenced()).toBe(true);
  const batchUsers = range(0, 10);
  const singleUsers = range(10, 20);
  const batch = await h.engine.submit(
    request(
      { users: batchUsers.map((i) => org.user(i).id), tenantId: org.user(0).tenantId },
      { text: "batch" },
      { delivery: { mode: "batch" } },
    ),
    admin,
  );
  const single = await h.engine.submit(
    request({ conversations: singleUsers.map((i) => org.personalConversationId(i)) }, { text: "one by one" }),
    admin,
  );
  await sleep(1_500);
  expect(receivedBy(h, users)).toBe(0);
  down = false;
  for (const { notification } of [batch, single]) {
    const done = await h.waitFor(notification.id, finished, 30_000);
    expect(done.counts).toMatchObject({ sent: 10, pending: 0, unknown: 0 });
  }
  for (const i of users) expect(h.received(i).received).toBe(1);
}, 60_000);

it("without a tenant limit, a send whose in-flight mark is written slowly does not leave once the fence has begun", async () => {
  const users = range(0, 20);
  const requestTimes: number[] = [];
  const { h } = await fencedEngine(users.length, { tenantRps: 0 }, { markDelayMs: 1_500, requestTimes });
  const org = h.emulator.org;
  const cutAt = performance.now();
  down = true;
  const { notification } = await h.engine.submit(
    request({ conversations: users.map((i) => org.personalConversationId(i)) }, { text: "x" }),
    admin,
  );
  // The marks take 1.5 s: the fence (at most fenceAfterMs after the cut) begins while they are written.
  await sleep(2_500);
  expect(h.engine.fenced()).toBe(true);
  expect(requestTimes.filter((t) => t > cutAt + fenceAfterMs)).toEqual([]);
  down = false;
  const done = await h.waitFor(notification.id, finished, 30_000);
  expect(done.counts).toMatchObject({ sent: users.length, pending: 0, unknown: 0 });
  for (const i of users) expect(h.received(i).received).toBe(1);
}, 60_000);

it("a read of the database's clock stuck on a dead connection holds back neither the heartbeats nor the sends", async () => {
  const users = range(0, 40);
  const { h } = await fencedEngine(users.length, { tenantRps: 20 });
  const conversations = users.map((i) => h.emulator.org.personalConversationId(i));
  clockStuck = true;
  const { notification } = await h.engine.submit(request({ conversations }, { text: "on time" }), admin);
  // Two seconds, more than twice staleMs: the heartbeats go on, the process is never fenced.
  let fenced = 0;
  for (let i = 0; i < 40; i++) {
    await sleep(50);
    if (h.engine.fenced()) fenced++;
  }
  expect(fenced).toBe(0);
  const done = await h.waitFor(notification.id, finished, 20_000);
  expect(done.counts).toMatchObject({ sent: users.length, unknown: 0 });
}, 60_000);

it("a heartbeat stuck on a dead connection counts as failed after two intervals: the next one goes, and the process is never fenced", async () => {
  // Intervals of 500 ms, staleMs 4 s: fenced 3.5 s after the newest written heartbeat was sent.
  const { h } = await fencedEngine(4, { heartbeatMs: 500, staleMs: 4_000, tenantRps: 20 });
  await sleep(600);
  nextHeartbeatStuck = true;
  // The stuck one counts as failed after 1 s; the next goes then. Before, `beating` held every
  // later heartbeat for staleMs minus an interval, past the fence.
  let fenced = 0;
  for (let i = 0; i < 50; i++) {
    await sleep(100);
    if (h.engine.fenced()) fenced++;
  }
  expect(nextHeartbeatStuck).toBe(false);
  expect(fenced).toBe(0);
}, 60_000);

it("heartbeats answered slower than their limit still count: a slow database does not fence a live process", async () => {
  // Intervals of 500 ms, staleMs 4 s: a heartbeat goes unanswered for 1 s before the next goes; fenced 3.5 s after the newest written one was sent.
  const { h } = await fencedEngine(4, { heartbeatMs: 500, staleMs: 4_000, tenantRps: 20 });
  heartbeatDelayMs = 1_500;
  let fenced = 0;
  for (let i = 0; i < 60; i++) {
    await sleep(100);
    if (h.engine.fenced()) fenced++;
  }
  expect(fenced).toBe(0);
}, 60_000);
