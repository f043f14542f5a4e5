import { afterAll, beforeAll, expect, it } from "vitest";
import { leasedKey } from "../../src/delivery/model.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import { conversationRows } from "../helpers/rows.js";
import { createStoreFactory, withPostgres } from "../helpers/stores.js";

/**
 * The dispatcher's batched write on PostgreSQL (lockAndMark, one statement): every notification
 * is locked before any delivery row is touched, as every other writer (a recall, an edit, a
 * recovery) does; marking a row first deadlocked with a recall. Checked with the locks
 * themselves, not timing: while the write waits for a notification another session holds, the
 * row it is about to mark must still be free.
 */
const stores = createStoreFactory("postgres");
let d: DeliveryStore;
const t0 = Date.parse("2025-03-01T09:00:00.000Z");

beforeAll(async () => {
  d = (await stores.open()).deliveries;
});
afterAll(() => stores.cleanup());

const rows = conversationRows;

it("a write waiting for a notification's lock has not locked (marked) any of its rows yet", async () => {
  const { notification: x } = await d.createNotification(
    {
      id: "n_lockorder",
      createdBy: "k",
      requestHash: "h",
      audience: { conversations: ["a:0", "a:1"] },
      message: { text: "x" },
      createdAt: t0,
      expansionDone: true,
    },
    rows(2),
  );
  const jobs = await d.claim("w1", x.id, "t1", t0 + 1, 10);
  expect(jobs).toHaveLength(2);
  await d.writeBatch("w1", { marks: [leasedKey(jobs[0]!)], results: [] }, t0 + 2);
  const schema = stores.options.schema!;
  await withPostgres(async (holder) => {
    await withPostgres(async (probe) => {
      await holder.query("begin");
      await holder.query(`select id from "${schema}".notifications where id = $1 for update`, [x.id]);
      const holderPid = (await holder.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
      // A mark (seq 1) and a result (seq 0) of the notification the holder has locked.
      const write = d.writeBatch(
        "w1",
        {
          marks: [leasedKey(jobs[1]!)],
          results: [{ ...leasedKey(jobs[0]!), kind: "sent", attempts: 1, activityId: "a0", version: 1 }],
        },
        t0 + 3,
      );
      let blocked = 0;
      for (let i = 0; i < 500 && blocked === 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
        blocked = (await probe.query("select pid from pg_stat_activity where $1 = any(pg_blocking_pids(pid))", [holderPid])).rowCount ?? 0;
      }
      expect(blocked).toBe(1); // the write waits for the holder
      await probe.query("begin");
      // NOWAIT: fails at once if the waiting write has already locked (marked or settled) these rows.
      const free = await probe.query(`select seq from "${schema}".deliveries where notification_id = $1 order by seq for update nowait`, [
        x.id,
      ]);
      expect(free.rows.map((r) => Number(r.seq))).toEqual([0, 1]);
      await probe.query("rollback");
      await holder.query("commit");
      const out = await write;
      expect(out.marked).toEqual([leasedKey(jobs[1]!)]);
    });
  });
  expect((await d.getNotification(x.id))?.counts).toMatchObject({ pending: 1, sent: 1 });
});
