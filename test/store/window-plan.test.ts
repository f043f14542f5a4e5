import { afterAll, describe, expect, it } from "vitest";
import { insertWindowRows, nextWindow } from "../../src/store/kysely/chat-window.js";
import type { KyselyRecipientDirectory } from "../../src/store/kysely/recipients.js";
import { fixedTime, insertChats, numbers, runSql } from "../helpers/bulk-chats.js";
import { compileOnly, explain } from "../helpers/query-plan.js";
import { createStoreFactory, type StoreFactory, storeBackends } from "../helpers/stores.js";

/**
 * The statements of a window of the `all` audience (chat-window.ts) on a table the size of a
 * real organisation, with the planner's statistics: 200,000 chats, 50,000 users with preferences
 * (20,000 of them opted out). Each statement must read its window's range of the conversations
 * index and look each chat's user up in `preferences` by key. On a tiny table, or with a join to
 * `preferences`, PostgreSQL hashed the whole `preferences` table for every window (review of
 * 31d1238: 15 ms a window at 50,000 preferences, 2,000 windows for 1,000,000 chats).
 */
describe.each(storeBackends)("window statements on %s, 200,000 chats", (backend) => {
  const factory = createStoreFactory(backend);
  afterAll(() => factory.cleanup());

  it("walk their window by index and look preferences up by key", async () => {
    const store = await factory.open();
    await seed(factory);
    const directory = store.recipients as KyselyRecipientDirectory;
    const db = compileOnly(backend);
    const now = Date.parse("2026-12-01T00:00:00Z");
    // The first window (no afterId) too: with nothing bounding the ids below, SQLite preferred the
    // (status, seq) index and sorted the whole table's ids for it.
    for (const [tenantId, afterId] of [undefined, "t1"].flatMap((t) => [undefined, "c:0100000"].map((a) => [t, a] as const))) {
      const w = { tenantId, afterId, last: "c:0101500", upTo: 1_000_000 };
      // Each statement, and whether its range of ids is bounded above (a window's) or runs to the
      // end of the table (stopped by its LIMIT only).
      for (const [query, bounded] of [
        [nextWindow(db, backend, w, 500), false],
        [directory.optingOutQuery(tenantId, w.afterId, w.upTo, 500, w.last), true],
        // The page of the walk by id, which notifications with a local-time schedule still read.
        [directory.personalPageByIdQuery("active", tenantId, w.afterId, w.upTo, 500), false],
        [insertWindowRows(db, backend, "n_plan", 0, w, now, now), true],
      ] as const) {
        const { sql, parameters } = query.compile();
        const plan = await explain(factory.databaseUrl, factory.options.schema, sql, parameters, { realistic: true });
        if (backend === "sqlite") {
          expect(plan, plan).toMatch(/SEARCH c USING (COVERING )?INDEX conversations_(tenant_)?status_id/);
          expect(plan, plan).not.toMatch(/SCAN (c|o|p|preferences)\b/);
        } else {
          // Never a scan or a hash of either table. A window's range may be read by a bitmap scan
          // and sorted (its rows at most); a range to the end of the table must be walked in id
          // order, its LIMIT stopping it.
          expect(plan, plan).not.toMatch(/Seq Scan|Hash/);
          if (bounded) expect(plan, plan).toMatch(/(Index (Only )?Scan using|Bitmap Index Scan on) conversations_(tenant_)?status_id/);
          else {
            expect(plan, plan).toMatch(/Index (Only )?Scan using conversations_(tenant_)?status_id/);
            expect(plan, plan).not.toMatch(/Bitmap|(^|->)\s*(Incremental )?Sort\s+\(/m);
          }
        }
      }
    }
  }, 120_000);
});

/** 200,000 active chats in 3 tenants (ids `c:0000001`…), 50,000 of their users with preferences (2 in 5 opted out), then the planner's statistics from every row. */
async function seed(stores: StoreFactory): Promise<void> {
  await insertChats(stores, 200_000, { prefix: "c:" });
  const postgres = stores.name === "postgres";
  await runSql(stores, [
    // The users of chats 4, 8, 12…: `29:c:<i>` in tenant `t<i % 3>`, as insertChats names them.
    `insert into preferences (tenant_id, user_id, opted_out, opted_out_categories, updated_at)
     select 't' || (g.i * 4 % 3), '29:c:' || (g.i * 4), g.i % 5 < 2, ${postgres ? "'[]'::jsonb" : "'[]'"}, ${fixedTime(stores)}
     from ${numbers(stores, 50_000)}`,
    ...(postgres
      ? // Statistics from every row, not a sample: the same plan on every run.
        ["set default_statistics_target = 10000", "analyze conversations", "analyze preferences"]
      : ["analyze"]),
  ]);
}
