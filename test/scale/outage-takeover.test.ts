import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Liveness } from "../../src/delivery/dispatch/liveness.js";
import { leasedKey } from "../../src/delivery/model.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/ports.js";
import { type Harness, startHarness } from "../delivery/helpers/harness.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

/**
 * After a database outage longer than staleMs every process's heartbeat is old, the live ones'
 * too. The first process back must not take that for death: it would take over rows another
 * process is still sending (resent here with HERALD_IN_FLIGHT_POLICY=resend, a duplicate). A
 * process judges others only once its own heartbeats have gone through for staleMs (Liveness).
 *
 * Process A is played by this test through the store: it beats, claims a row and marks it in
 * flight (its request is on its way). Process B is a real engine on the same PostgreSQL schema,
 * whose heartbeats fail while `down` is set (its side of the outage). PostgreSQL, its own schema.
 */
const schema = `herald_outage_${randomBytes(5).toString("hex")}`;
const heartbeatMs = 100;
const staleMs = 800;
let store: Store;
let h: Harness;
let down = false;

/** The store as process B sees it: its heartbeats fail while `down`. */
function outageFor(s: Store): Store {
  const deliveries = new Proxy(s.deliveries, {
    get(target, prop) {
      if (prop === "heartbeat")
        return (owner: string, now: number) =>
          down ? Promise.reject(new Error("connection refused (test outage)")) : target.heartbeat(owner, now);
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
  h = await startHarness(outageFor(store), { config: { heartbeatMs, staleMs, inFlightPolicy: "resend", tenantRps: 0 } });
  await h.seedUsers([0]);
});
afterAll(async () => {
  await h?.close();
  await store?.close();
  await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("after an outage longer than staleMs, the first process back leaves a live process's in-flight send alone; a dead one's it takes over", async () => {
  const d: DeliveryStore = store.deliveries;
  const org = h.emulator.org;
  const user = org.user(0);
  const conversationId = org.personalConversationId(0);
  const A = `w-A-${randomBytes(3).toString("hex")}`;
  const id = `n_outage_${randomBytes(4).toString("hex")}`;
  // A beats, creates the notification, claims its row and marks it in flight.
  await d.heartbeat(A, Date.now());
  await d.createNotification(
    {
      id,
      createdBy: "k",
      requestHash: "h",
      audience: { conversations: [conversationId] },
      message: { text: "once" },
      createdAt: Date.now(),
      expansionDone: true,
    },
    [
      {
        recipientKey: `conv:${conversationId}`,
        kind: "conversation",
        tenantId: user.tenantId,
        conversationId,
        serviceUrl: h.emulator.connectorUrl,
        status: "pending",
      },
    ],
  );
  const [job] = await d.claim(A, id, user.tenantId, Date.now(), 10);
  expect(job).toBeDefined();
  expect(await d.markInflight(A, [job!], Date.now())).toEqual([leasedKey(job!)]);
  // A keeps beating, as a live process does, except while the database is down for it too.
  let aLive = true;
  let aResumesAt = 0;
  const aBeats = (async () => {
    while (aLive) {
      if (!down && Date.now() >= aResumesAt) await d.heartbeat(A, Date.now());
      await sleep(heartbeatMs);
    }
  })();
  // B has been beating for longer than staleMs: it may judge others.
  await sleep(staleMs + 3 * heartbeatMs);

  // The outage: B's heartbeats fail, A cannot beat either (its heartbeat ages past staleMs).
  down = true;
  await sleep(4 * heartbeatMs);
  await withPostgres((c) =>
    c.query(`update "${schema}".delivery_workers set heartbeat_at = heartbeat_at - interval '10 seconds' where id = $1`, [A]),
  );
  // The database is back. B's next beat goes through first; A's is due a little later (in
  // production a heartbeat interval is 5 s: whoever comes back first may wait that long for the others).
  aResumesAt = Date.now() + 3 * heartbeatMs;
  down = false;
  await sleep(staleMs + 3 * heartbeatMs);
  // Still A's, still in flight; nothing was sent again.
  const row = await withPostgres(
    async (c) =>
      (
        await c.query<{ queue: string; lease_owner: string | null; status: string }>(
          `select queue, lease_owner, status from "${schema}".deliveries where notification_id = $1`,
          [id],
        )
      ).rows,
  );
  expect(row).toEqual([{ queue: "inflight", lease_owner: A, status: "pending" }]);
  expect(h.received(0).received).toBe(0);

  // Now A stops beating for good: B takes its row over (resend) and sends it, once.
  aLive = false;
  await aBeats;
  const n = await h.waitFor(id, (x) => !x.active, 10_000);
  expect(n.counts.sent).toBe(1);
  expect(h.received(0).received).toBe(1);
});

it("Liveness: judges others only after staleMs of heartbeats without a gap", () => {
  let t = 0;
  const l = new Liveness(1_000, 100, () => t);
  const beatAt = (...times: number[]) => {
    for (const at of times) {
      t = at;
      l.beat();
    }
  };
  const every100 = (from: number, to: number) => Array.from({ length: (to - from) / 100 + 1 }, (_, i) => from + 100 * i);
  expect(l.mayJudgeOthers()).toBe(false);
  beatAt(...every100(0, 900));
  expect(l.mayJudgeOthers()).toBe(false);
  beatAt(1_000);
  expect(l.mayJudgeOthers()).toBe(true);
  // One failed heartbeat (no beat at 1,100) is no gap.
  beatAt(1_200);
  expect(l.mayJudgeOthers()).toBe(true);
  // Two heartbeats further apart than two and a half intervals (an outage, a stalled event loop) start the wait again.
  beatAt(1_500);
  expect(l.mayJudgeOthers()).toBe(false);
  beatAt(...every100(1_600, 2_400));
  expect(l.mayJudgeOthers()).toBe(false);
  beatAt(2_500);
  expect(l.mayJudgeOthers()).toBe(true);
  // No heartbeat for more than two and a half intervals: it cannot vouch for now.
  t = 2_800;
  expect(l.mayJudgeOthers()).toBe(false);
});

it("Liveness: fenced from staleMs minus an interval after the newest heartbeat written, timed when it was sent, on either clock", () => {
  let t = 0;
  let wall = 1_000_000;
  const l = new Liveness(
    1_000,
    100,
    () => t,
    () => wall,
  );
  const at = (ms: number) => ({ monotonic: ms, wall: 1_000_000 + ms });
  // No heartbeat written yet: nothing may leave.
  expect(l.fenced()).toBe(true);
  l.written(l.now());
  t = 900;
  wall = 1_000_900;
  expect(l.fenced()).toBe(false);
  t = 901;
  wall = 1_000_901;
  expect(l.fenced()).toBe(true);
  l.written(at(500));
  expect(l.fenced()).toBe(false);
  // A heartbeat sent earlier and answered later does not move the time back.
  l.written(at(300));
  t = 1_400;
  wall = 1_001_400;
  expect(l.fenced()).toBe(false);
  t = 1_401;
  wall = 1_001_401;
  expect(l.fenced()).toBe(true);
  // Suspended: the monotonic clock stood still while the wall clock (and the database's) went on.
  l.written(l.now());
  wall += 5_000;
  expect(l.fenced()).toBe(true);
});
