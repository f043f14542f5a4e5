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

/** End the sessions of this test's schema whose statement starts with `prefix` and waits for a lock; how many. */
async function terminateWaiting(prefix: string): Promise<number> {
  const end = Date.now() + 5_000;
  for (;;) {
    const n = await withPostgres(
      async (c) =>
        (
          await c.query(
            "select pg_terminate_backend(pid) from pg_stat_activity where wait_event_type = 'Lock' and query like $1 and pid <> pg_backend_pid()",
            [`${prefix}%`],
          )
        ).rowCount ?? 0,
    );
    if (n > 0 || Date.now() > end) return n;
    await new Promise((r) => setTimeout(r, 20));
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
    expect(await terminateWaiting('update "notifications"')).toBe(1);
    expect((await failed)?.message).toMatch(/terminating connection/);
    await locker.query("rollback");
    expect(await queues(n.id)).toEqual([0, 1, 2].map(() => ({ queue: "ready", lease_owner: null })));
    expect((await store.deliveries.claim("w1", n.id, "t1", t0 + 2, 10)).map((j) => j.seq)).toEqual([0, 1, 2]);
  } finally {
    await locker.end();
    await store.close();
  }
}, 20_000);

it("when the give-back fails too, the next claim gives the rows back first, then takes them", async () => {
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
    expect(await terminateWaiting('update "notifications"')).toBe(1);
    expect(await terminateWaiting('update "deliveries" set "queue"')).toBe(1);
    expect((await failed)?.message).toMatch(/terminating connection/);
    await locker.query("rollback");
    expect(await queues(n.id)).toEqual([0, 1].map(() => ({ queue: "claimed", lease_owner: "w1" })));
    expect((await store.deliveries.claim("w1", n.id, "t1", t0 + 2, 10)).map((j) => j.seq)).toEqual([0, 1]);
  } finally {
    await locker.end();
    await store.close();
  }
}, 20_000);
