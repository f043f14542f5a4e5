import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { insertWindowRows, nextWindow } from "../../src/store/kysely/chat-window.js";
import type { KyselyRecipientDirectory } from "../../src/store/kysely/recipients.js";
import { compileOnly, explain } from "../helpers/query-plan.js";
import { createStoreFactory, storeBackends, withPostgres } from "../helpers/stores.js";

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
    await seed(backend, factory.databaseUrl, factory.options.schema);
    const directory = store.recipients as KyselyRecipientDirectory;
    const db = compileOnly(backend);
    const now = Date.parse("2026-12-01T00:00:00Z");
    for (const tenantId of [undefined, "t1"]) {
      const w = { tenantId, afterId: "c:0100000", last: "c:0101500", upTo: 1_000_000 };
      for (const query of [
        nextWindow(db, backend, w, 500),
        directory.optingOutQuery(tenantId, w.afterId, w.upTo, 500, w.last),
        // The page of the walk by id, which notifications with a local-time schedule still read.
        directory.personalPageByIdQuery("active", tenantId, w.afterId, w.upTo, 500),
        insertWindowRows(db, backend, "n_plan", 0, w, now, now),
      ]) {
        const { sql, parameters } = query.compile();
        const plan = await explain(factory.databaseUrl, factory.options.schema, sql, parameters, { realistic: true });
        if (backend === "sqlite") {
          expect(plan, plan).toMatch(/SEARCH c USING (COVERING )?INDEX conversations_(tenant_)?status_id/);
          expect(plan, plan).not.toMatch(/SCAN (c|o|preferences)\b/);
        } else {
          // An index scan in id order, or a bitmap scan of the window's range (then a sort of that
          // window's rows at most): never a scan or a hash of either table.
          expect(plan, plan).toMatch(/(Index (Only )?Scan using|Bitmap Index Scan on) conversations_(tenant_)?status_id/);
          expect(plan, plan).not.toMatch(/Seq Scan|Hash/);
        }
      }
    }
  }, 120_000);
});

/** 200,000 active chats in 3 tenants (ids `c:0000001`…), 50,000 of their users with preferences, then the planner's statistics. */
async function seed(backend: string, databaseUrl: string, schema: string | undefined): Promise<void> {
  const statements = (series: string, i: string, pad: (s: string) => string, text: (s: string) => string) => [
    `insert into conversations (id, kind, tenant_id, service_url, channel_id, bot_id, user_id, user_name, last_activity_at, status, created_at, updated_at)
     select 'c:' || ${pad(i)}, 'personal', 't' || (${i} % 3), 'http://127.0.0.1:1/', 'msteams', '28:bot', '29:' || ${i}, 'U' || ${i},
       ${text("'2026-01-01T00:00:00.000Z'")}, 'active', ${text("'2026-01-01T00:00:00.000Z'")}, ${text("'2026-01-01T00:00:00.000Z'")}
     from ${series.replace("$N", "200000")}`,
    `insert into preferences (tenant_id, user_id, opted_out, opted_out_categories, updated_at)
     select 't' || (${i} * 4 % 3), '29:' || (${i} * 4), ${backend === "postgres" ? `${i} % 5 < 2` : `${i} % 5 < 2`}, ${backend === "postgres" ? "'[]'::jsonb" : "'[]'"},
       ${text("'2026-01-01T00:00:00.000Z'")}
     from ${series.replace("$N", "50000")}`,
  ];
  if (backend === "postgres") {
    await withPostgres(async (c) => {
      await c.query(`set search_path to "${schema}"`);
      for (const q of statements(
        "generate_series(1, $N) g(i)",
        "g.i",
        (s) => `lpad(${s}::text, 7, '0')`,
        (s) => `${s}::timestamptz`,
      ))
        await c.query(q);
      // Statistics from every row, not a sample: the same plan on every run.
      await c.query("set default_statistics_target = 10000");
      await c.query("analyze conversations");
      await c.query("analyze preferences");
    });
    return;
  }
  const db = new Database(databaseUrl.slice("sqlite:".length));
  try {
    const series = "(with recursive g(i) as (select 1 union all select i + 1 from g where i < $N) select i from g) g";
    for (const q of statements(
      series,
      "g.i",
      (s) => `substr('0000000' || ${s}, -7, 7)`,
      (s) => s,
    ))
      db.exec(q);
    db.exec("analyze");
  } finally {
    db.close();
  }
}
