import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { openPostgresStore } from "../../src/store/postgres/open.js";
import { conversationRows } from "../helpers/rows.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

/**
 * A claim that fails after its rows were claimed gives them back: the lane never got them, and
 * recovery does not take rows from a live owner, so they would wait for this process's stop. The
 * failure here: the claim's status update waits for another session's lock on the notification,
 * and its connection is ended by the server (pg_terminate_backend, as in a failover).
 */
const schema = `herald_claimrel_${randomBytes(4).toString("hex")}`;
afterAll(async () => {
  await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
});

/** End the sessions blocked by `locker` whose statement starts with `prefix`; how many. */
async function terminateBlocked(locker: pg.Client, prefix: string): Promise<number> {
  const lockerPid = (locker as unknown as { processID: number }).processID;
  const end = Date.now() + 5_000;
  for (;;) {
    const n = await withPostgres(
      async (c) =>
        (
          await c.query("select pg_terminate_backend(pid) from pg_stat_activity where $1 = any(pg_blocking_pids(pid)) and query like $2", [
            lockerPid,
            `${prefix}%`,
          ])
        ).rowCount ?? 0,
    );
    if (n > 0 || Date.now() > end) return n;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function until(check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("not given back in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function queues(id: string): Promise<unknown[]> {
  return withPostgres(
    async (c) =>
      (await c.query(`select queue, lease_owner from "${schema}".deliveries where notification_id = $1 order by seq`, [id])).rows,
  );
}

async function notificationOf(store: Awaited<ReturnType<typeof openPostgresStore>>, id: string, count: number, t0: number) {
  const { notification } = await store.deliveries.createNotification(
    {
      id,
      createdBy: "k",
      requestHash: id,
      audience: { conversations: Array.from({ length: count }, (_, i) => `a:${i}`) },
      message: { text: "x" },
      createdAt: t0,
      expansionDone: true,
    },
    conversationRows(count),
  );
  return notification;
}

it("a claim that fails after claiming gives its rows back: the next claim takes them", async () => {
  const store = await openPostgresStore(testPostgresUrl, { schema });
  const locker = new pg.Client({ connectionString: testPostgresUrl });
  await locker.connect();
  try {
    const t0 = Date.now();
    const n = await notificationOf(store, "n_stranded", 3, t0);
    await locker.query("begin");
    await locker.query(`select id from "${schema}".notifications where id = $1 for update`, [n.id]);
    // Its failure is taken as it comes (it may come while the test ends the sessions).
    const failed = store.deliveries.claim("w1", n.id, "t1", t0 + 1, 10).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(await terminateBlocked(locker, 'update "notifications"')).toBe(1);
    expect((await failed)?.message).toMatch(/terminating connection/);
    await locker.query("rollback");
    const ready = [0, 1, 2].map(() => ({ queue: "ready", lease_owner: null }));
    await until(async () => JSON.stringify(await queues(n.id)) === JSON.stringify(ready));
    expect((await store.deliveries.claim("w1", n.id, "t1", t0 + 2, 10)).map((j) => j.seq)).toEqual([0, 1, 2]);
  } finally {
    await locker.end();
    await store.close();
  }
}, 20_000);

it("when the give-back fails too, it is tried again until it goes through; then a claim takes the rows", async () => {
  const store = await openPostgresStore(testPostgresUrl, { schema });
  const locker = new pg.Client({ connectionString: testPostgresUrl });
  await locker.connect();
  try {
    const t0 = Date.now();
    const n = await notificationOf(store, "n_stranded_twice", 2, t0);
    await locker.query("begin");
    await locker.query(`select id from "${schema}".notifications where id = $1 for update`, [n.id]);
    // Its failure is taken as it comes (it may come while the test ends the sessions).
    const failed = store.deliveries.claim("w1", n.id, "t1", t0 + 1, 10).then(
      () => undefined,
      (e: Error) => e,
    );
    // Once its rows are claimed (committed), the other session locks them too: the give-back
    // right after the failure waits for them, and is ended as well.
    let claimed = 0;
    const end = Date.now() + 5_000;
    while (claimed < 2 && Date.now() < end) {
      claimed =
        (await locker.query(`select seq from "${schema}".deliveries where notification_id = $1 and queue = 'claimed' for update`, [n.id]))
          .rowCount ?? 0;
    }
    expect(claimed).toBe(2);
    expect(await terminateBlocked(locker, 'update "notifications"')).toBe(1);
    expect(await terminateBlocked(locker, 'update "deliveries" set "queue"')).toBe(1);
    expect((await failed)?.message).toMatch(/terminating connection/);
    expect(await queues(n.id)).toEqual([0, 1].map(() => ({ queue: "claimed", lease_owner: "w1" })));
    await locker.query("rollback");
    const ready = [0, 1].map(() => ({ queue: "ready", lease_owner: null }));
    await until(async () => JSON.stringify(await queues(n.id)) === JSON.stringify(ready));
    expect((await store.deliveries.claim("w1", n.id, "t1", t0 + 2, 10)).map((j) => j.seq)).toEqual([0, 1]);
  } finally {
    await locker.end();
    await store.close();
  }
}, 20_000);
