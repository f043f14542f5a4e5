import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import type { KyselyStore } from "../../src/store/kysely/store.js";
import { openPostgresStore } from "../../src/store/postgres/open.js";
import { eventually } from "../connector/helpers/servers.js";
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

async function queues(id: string): Promise<unknown[]> {
  return withPostgres(
    async (c) =>
      (await c.query(`select queue, lease_owner from "${schema}".deliveries where notification_id = $1 order by seq`, [id])).rows,
  );
}

async function notificationOf(store: KyselyStore, id: string, count: number, t0: number) {
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

/**
 * A notification of `count` rows, and another session (`locker`) holding its row in a transaction:
 * a claim started now claims its rows, then waits for that lock in its status update. `body` gets
 * the claim's failure as it comes (it may come while the test ends the sessions).
 */
async function withClaimWaitingForLock(
  id: string,
  count: number,
  body: (t: { store: KyselyStore; locker: pg.Client; id: string; t0: number; failed: Promise<Error | undefined> }) => Promise<void>,
): Promise<void> {
  const store = await openPostgresStore(testPostgresUrl, { schema });
  const locker = new pg.Client({ connectionString: testPostgresUrl });
  await locker.connect();
  try {
    const t0 = Date.now();
    const n = await notificationOf(store, id, count, t0);
    await locker.query("begin");
    await locker.query(`select id from "${schema}".notifications where id = $1 for update`, [n.id]);
    const failed = store.deliveries.claim("w1", n.id, "t1", t0 + 1, 10).then(
      () => undefined,
      (e: Error) => e,
    );
    await body({ store, locker, id: n.id, t0, failed });
  } finally {
    await locker.end();
    await store.close();
  }
}

/** Once given back, the rows are ready again and the next claim takes them all. */
async function expectGivenBack(store: KyselyStore, id: string, count: number, t0: number): Promise<void> {
  const ready = JSON.stringify(Array.from({ length: count }, () => ({ queue: "ready", lease_owner: null })));
  await eventually(
    () => queues(id),
    (q) => JSON.stringify(q) === ready,
  );
  expect((await store.deliveries.claim("w1", id, "t1", t0 + 2, 10)).map((j) => j.seq)).toEqual(Array.from({ length: count }, (_, i) => i));
}

it("a claim that fails after claiming gives its rows back: the next claim takes them", async () => {
  await withClaimWaitingForLock("n_stranded", 3, async ({ store, locker, id, t0, failed }) => {
    expect(await terminateBlocked(locker, 'update "notifications"')).toBe(1);
    expect((await failed)?.message).toMatch(/terminating connection/);
    await locker.query("rollback");
    await expectGivenBack(store, id, 3, t0);
  });
}, 20_000);

it("when the give-back fails too, it is tried again until it goes through; then a claim takes the rows", async () => {
  await withClaimWaitingForLock("n_stranded_twice", 2, async ({ store, locker, id, t0, failed }) => {
    // Once its rows are claimed (committed), the other session locks them too: the give-back
    // right after the failure waits for them, and is ended as well.
    let claimed = 0;
    const end = Date.now() + 5_000;
    while (claimed < 2 && Date.now() < end) {
      claimed =
        (await locker.query(`select seq from "${schema}".deliveries where notification_id = $1 and queue = 'claimed' for update`, [id]))
          .rowCount ?? 0;
    }
    expect(claimed).toBe(2);
    expect(await terminateBlocked(locker, 'update "notifications"')).toBe(1);
    expect(await terminateBlocked(locker, 'update "deliveries" set "queue"')).toBe(1);
    expect((await failed)?.message).toMatch(/terminating connection/);
    expect(await queues(id)).toEqual([0, 1].map(() => ({ queue: "claimed", lease_owner: "w1" })));
    await locker.query("rollback");
    await expectGivenBack(store, id, 2, t0);
  });
}, 20_000);
