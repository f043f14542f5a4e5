import Database from "better-sqlite3";
import { type StoreFactory, withPostgres } from "./stores.js";

/**
 * Store `count` active 1:1 chats straight into the database in one statement (ids
 * `<prefix>0000001`…, users `29:<prefix><i>` in tenant `tenant`, or spread over `t0`…`t2`
 * without one): thousands in well under a second, where the store's upsert takes a millisecond
 * each. For tests that need a table of a real size, or chats stored after the ones they look at.
 */
export async function insertChats(stores: StoreFactory, count: number, options: { prefix: string; tenant?: string }): Promise<void> {
  const i = "g.i";
  const id =
    stores.name === "postgres"
      ? `'${options.prefix}' || lpad(${i}::text, 7, '0')`
      : `'${options.prefix}' || substr('0000000' || ${i}, -7, 7)`;
  const tenant = options.tenant === undefined ? `'t' || (${i} % 3)` : `'${options.tenant}'`;
  const time = fixedTime(stores);
  const insert = `insert into conversations (id, kind, tenant_id, service_url, channel_id, bot_id, user_id, user_name, last_activity_at, status, created_at, updated_at)
    select ${id}, 'personal', ${tenant}, 'http://127.0.0.1:1/', 'msteams', '28:bot', '29:${options.prefix}' || ${i}, 'U' || ${i}, ${time}, 'active', ${time}, ${time}
    from ${numbers(stores, count)}`;
  await runSql(stores, [insert]);
}

/** The integers 1…`count` as a table `g` with column `i`, in the factory's SQL. */
export function numbers(stores: StoreFactory, count: number): string {
  return stores.name === "postgres"
    ? `generate_series(1, ${count}) g(i)`
    : `(with recursive g(i) as (select 1 union all select i + 1 from g where i < ${count}) select i from g) g`;
}

/** 2026-01-01T00:00:00Z as a literal of the factory's time columns. */
export const fixedTime = (stores: StoreFactory): string =>
  stores.name === "postgres" ? "'2026-01-01T00:00:00.000Z'::timestamptz" : "'2026-01-01T00:00:00.000Z'";

/** Run statements on the factory's database, outside the store (test setup only: the texts are the test's own). */
export async function runSql(stores: StoreFactory, statements: readonly string[]): Promise<void> {
  if (stores.name === "postgres") {
    await withPostgres(async (c) => {
      await c.query(`set search_path to "${stores.options.schema}"`);
      for (const q of statements) await c.query(q);
    });
    return;
  }
  const db = new Database(stores.databaseUrl.slice("sqlite:".length));
  try {
    for (const q of statements) db.exec(q);
  } finally {
    db.close();
  }
}
