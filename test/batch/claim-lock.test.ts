import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { createStoreFactory, testPostgresUrl } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const admin = { keyId: "test-admin" } as const;

/**
 * On PostgreSQL the batch path's take and the dispatcher's claim run in separate transactions,
 * possibly in separate processes. The take selected ready rows without a lock and then updated
 * them by seq alone: a row the dispatcher claimed in between (locked, then committed as its own)
 * was claimed a second time by the take, and both paths would send it. Here another connection
 * plays the dispatcher: it locks three ready rows as its claim does, the take runs, then the
 * claim commits. The take must leave those three rows to it.
 */
describe("postgres: the batch take and the dispatcher's claim never take the same row", () => {
  const stores = createStoreFactory("postgres");
  let h: BatchHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
    await stores.cleanup();
  });

  it("rows locked by a claim in progress are left to it", async () => {
    const store = await stores.open();
    const USERS = 8;
    const hh = await startBatchHarness(store, { org: { users: USERS, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    h = hh;
    await hh.seedUsers(Array.from({ length: USERS }, (_, i) => i));
    const tenantId = hh.emulator.org.tenants[0]?.id ?? "";
    // Paused before the engine starts: the notification's rows are written and stay ready.
    await store.deliveries.pauseTenant(tenantId, "BotDisabledByAdmin", Date.now());
    const engine = await hh.engine();
    const users = Array.from({ length: USERS }, (_, i) => hh.emulator.org.user(i).id);
    const { notification } = await engine.submit(
      { audience: { users }, message: { text: "claimed once" }, delivery: { mode: "batch" } },
      admin,
    );
    await hh.waitFor(engine, notification.id, (n) => n.counts.pending === USERS && n.total === USERS);
    await engine.stop();
    await store.deliveries.resumeTenant(tenantId);

    const client = new pg.Client({ connectionString: testPostgresUrl });
    await client.connect();
    try {
      const table = `"${stores.options.schema}".deliveries`;
      await client.query("begin");
      const locked = await client.query<{ seq: string }>(
        `select seq from ${table} where notification_id = $1 and queue = 'ready' order by seq limit 3 for update skip locked`,
        [notification.id],
      );
      const seqs = locked.rows.map((r) => Number(r.seq));
      expect(seqs).toHaveLength(3);
      let settled = false;
      const take = store.batches?.take(notification.id, "submit-1", 100, Date.now(), "batch-worker", []).finally(() => {
        settled = true;
      });
      // The take has either ended (it skipped the locked rows) or waits on their lock (it would claim them after the commit).
      for (let i = 0; i < 200 && !settled; i++) {
        // pg_stat_activity is read once per transaction unless the snapshot is cleared (this client is in one).
        await client.query("select pg_stat_clear_snapshot()");
        const waiting = await client.query(
          "select 1 from pg_stat_activity where wait_event_type = 'Lock' and pid <> pg_backend_pid() and query ilike 'update%deliveries%'",
        );
        if ((waiting.rowCount ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await client.query(`update ${table} set queue = 'claimed', lease_owner = 'dispatcher' where notification_id = $1 and seq = any($2)`, [
        notification.id,
        seqs,
      ]);
      await client.query("commit");
      const taken = (await take) ?? [];
      expect(taken.map((r) => r.seq).sort((x, y) => x - y)).toEqual(
        Array.from({ length: USERS }, (_, i) => i).filter((s) => !seqs.includes(s)),
      );
      const owners = await client.query<{ seq: string; queue: string; lease_owner: string }>(
        `select seq, queue, lease_owner from ${table} where notification_id = $1 and seq = any($2) order by seq`,
        [notification.id, seqs],
      );
      for (const r of owners.rows) expect(r).toMatchObject({ queue: "claimed", lease_owner: "dispatcher" });
    } finally {
      await client.query("rollback").catch(() => undefined);
      await client.end();
    }
  });
});
