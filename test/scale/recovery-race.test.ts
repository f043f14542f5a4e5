import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { NewDelivery } from "../../src/delivery/model.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/ports.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

/**
 * Dead-worker recovery must never take the rows of a worker that is alive. Recovery decided who
 * was alive in one statement and gave rows back in later ones: a worker that registered (and
 * claimed rows) in between was treated as dead, its in-flight sends reported `unknown`, its
 * expansion released and its registration deleted. Here the in-between is forced: the
 * notification's row is locked by another connection, so recovery waits on it after its first
 * reads; meanwhile a new worker beats, claims rows, marks some in flight and takes an expansion.
 * PostgreSQL, its own schema.
 */
const schema = `herald_race_${randomBytes(5).toString("hex")}`;
const tenant = "t-race";
let store: Store;
let d: DeliveryStore;

beforeAll(async () => {
  store = await openStore(testPostgresUrl, { schema });
  d = store.deliveries;
});
afterAll(async () => {
  await store.close();
  await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
});

const rows = (count: number): NewDelivery[] =>
  Array.from({ length: count }, (_, i) => ({
    recipientKey: `conv:r:${i}`,
    kind: "conversation",
    tenantId: tenant,
    conversationId: `r:${i}`,
    serviceUrl: "https://smba.example/",
    status: "pending",
  }));

async function create(id: string, count: number, createdAt: number, expansionDone = true): Promise<void> {
  await d.createNotification(
    {
      id,
      createdBy: "k",
      requestHash: "h",
      audience: expansionDone ? { conversations: rows(count).map((r) => r.conversationId ?? "") } : { all: true },
      message: { text: "x" },
      createdAt,
      expansionDone,
    },
    rows(count),
  );
}

/** A plain connection on this file's schema. */
async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: testPostgresUrl, options: `-c search_path=${schema}` });
  await c.connect();
  return c;
}

/** Poll until some backend waits on a lock `blocker` holds (recovery reached the locked notification). */
async function untilBlockedBy(observer: pg.Client, blockerPid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const r = await observer.query<{ n: string }>("select count(*) as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))", [
      blockerPid,
    ]);
    if (Number(r.rows[0]?.n) > 0) return;
    if (Date.now() > deadline) throw new Error("recovery never waited on the locked notification");
    await new Promise((r) => setTimeout(r, 10));
  }
}

it("a worker that registers and claims rows while a recovery runs keeps its rows, its expansion and its registration", async () => {
  const now = Date.now();
  const staleMs = 30_000;
  const n = "n_race_rows";
  const m = "n_race_expansion";
  await create(n, 10, now - 1_000);
  await create(m, 0, now - 1_000, false);
  // "dead" stopped beating long ago, holding 4 rows of n (2 of them in flight).
  await d.heartbeat("dead", now - 10 * staleMs);
  // PostgreSQL judges heartbeats on its own clock: "dead" beat 10 stale times ago there.
  await withPostgres((c) =>
    c.query(`update "${schema}".delivery_workers set heartbeat_at = now() - interval '300 seconds' where id = 'dead'`),
  );
  const deadJobs = await d.claim("dead", n, tenant, now, 4);
  expect(deadJobs).toHaveLength(4);
  await d.markInflight("dead", deadJobs.slice(0, 2), now);
  await d.heartbeat("recoverer", now);

  const blocker = await connect();
  const observer = await connect();
  try {
    await blocker.query("begin");
    await blocker.query("select id from notifications where id = $1 for update", [n]);
    const blockerPid = (await blocker.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;

    // Recovery starts: it finds n (leased by "dead") and then waits for n's lock.
    const recovering = d.recover("recoverer", now - staleMs, "unknown", now, false);
    await untilBlockedBy(observer, blockerPid);

    // Meanwhile a new worker starts: it beats, claims 3 rows of n, marks 2 in flight, takes m's expansion.
    await d.heartbeat("newcomer", now);
    const mine = await d.claim("newcomer", n, tenant, now, 3);
    expect(mine).toHaveLength(3);
    expect(await d.markInflight("newcomer", mine.slice(0, 2), now)).toHaveLength(2);
    expect(await d.claimExpansion(m, "newcomer", now)).toBeDefined();

    await blocker.query("commit");
    const result = await recovering;

    // Only the dead worker's rows were taken over.
    expect(result).toEqual({ released: 2, unknown: 2, requeued: 0 });
    const leased = await observer.query<{ lease_owner: string; queue: string; status: string; n: string }>(
      "select lease_owner, queue, status, count(*) as n from deliveries where notification_id = $1 and lease_owner is not null group by 1, 2, 3 order by 1, 2",
      [n],
    );
    expect(leased.rows.map((r) => [r.lease_owner, r.queue, r.status, Number(r.n)])).toEqual([
      ["newcomer", "claimed", "pending", 1],
      ["newcomer", "inflight", "pending", 2],
    ]);
    const unknown = await observer.query<{ n: string }>(
      "select count(*) as n from deliveries where notification_id = $1 and status = 'unknown'",
      [n],
    );
    expect(Number(unknown.rows[0]?.n)).toBe(2);
    expect((await d.getNotification(n))?.counts).toMatchObject({ pending: 8, unknown: 2 });
    const expansion = await observer.query<{ expansion_owner: string | null }>("select expansion_owner from notifications where id = $1", [
      m,
    ]);
    expect(expansion.rows[0]?.expansion_owner).toBe("newcomer");
    const workers = await observer.query<{ id: string }>("select id from delivery_workers order by id");
    expect(workers.rows.map((r) => r.id)).toEqual(["newcomer", "recoverer"]);
  } finally {
    await blocker.query("rollback").catch(() => undefined);
    await blocker.end();
    await observer.end();
  }
});
