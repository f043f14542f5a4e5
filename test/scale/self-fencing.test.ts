import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
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
 * One real engine on PostgreSQL (its own schema) whose heartbeats fail while `down` is set; its
 * other writes go through, so what stops the sends is the fence, not a failing write.
 */
const schema = `herald_fence_${randomBytes(5).toString("hex")}`;
const heartbeatMs = 100;
const staleMs = 800;
const users = Array.from({ length: 60 }, (_, i) => i);
let store: Store;
let h: Harness;
let down = false;

/** The store with heartbeats that fail while `down`. */
function heartbeatsCutOff(s: Store): Store {
  const deliveries = new Proxy(s.deliveries, {
    get(target, prop) {
      if (prop === "heartbeat")
        return (owner: string, now: number) =>
          down ? Promise.reject(new Error("connection refused (test: heartbeats cut off)")) : target.heartbeat(owner, now);
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return new Proxy(s, {
    get(target, prop) {
      if (prop === "deliveries") return deliveries;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

beforeAll(async () => {
  store = await openStore(testPostgresUrl, { schema });
  // 20 messages a second: the broadcast lasts about 3 s, long enough to cut the heartbeats off midway.
  h = await startHarness(heartbeatsCutOff(store), {
    emulator: { org: { users: users.length } },
    config: { heartbeatMs, staleMs, tenantRps: 20 },
  });
  await h.seedUsers(users);
});
afterAll(async () => {
  down = false;
  await h?.close();
  await store?.close();
  await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const receivedInAll = () => users.reduce((sum, i) => sum + h.received(i).received, 0);

it("heartbeats cut off for longer than staleMs minus an interval: no request leaves until one goes through again; then everyone gets it once", async () => {
  const conversations = users.map((i) => h.emulator.org.personalConversationId(i));
  const { notification } = await h.engine.submit(request({ conversations }, { text: "fenced" }), admin);
  await h.waitFor(notification.id, (n) => n.counts.sent >= 5, 10_000);
  down = true;
  // Fenced from staleMs - heartbeatMs after the last heartbeat that went through; a request that
  // left just before is answered within the margin (the emulator answers at once).
  await sleep(staleMs + 2 * heartbeatMs);
  const held = receivedInAll();
  expect(held).toBeLessThan(users.length);
  // A second (20 sends at this rate): nothing leaves.
  await sleep(1_000);
  expect(receivedInAll()).toBe(held);
  down = false;
  const done = await h.waitFor(notification.id, finished, 20_000);
  expect(done.counts).toMatchObject({ sent: users.length, pending: 0, unknown: 0 });
  expect(addsUp(done)).toBe(true);
  for (const i of users) expect(h.received(i).received).toBe(1);
}, 60_000);
