import Database from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect } from "kysely";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import type { BatchLiveness } from "../../src/delivery/batch/port.js";
import { KyselyBatchStore } from "../../src/store/kysely/batch.js";
import type { AllTables } from "../../src/store/kysely/delivery-schema.js";
import { createStoreFactory, type StoreFactory, withPostgres } from "../helpers/stores.js";

/**
 * HERALD_BATCH is on by default, so the batch path's start-up sweep (`unowned`: rows taken
 * before owners were recorded, found by age) runs at every start, batch notifications or not.
 * It must not read the whole deliveries table (on main: a full scan, 0.5-0.8 s of a blocked
 * event loop on SQLite at 200,000 finished rows, linear in the table's history): only the rows
 * of active notifications (a pending row keeps its notification active). Checked on the plans
 * of the statements the sweep really runs (captured from Kysely's log), not on timings.
 */
const ROWS = 200_000;
const factories: StoreFactory[] = [];
afterAll(async () => {
  for (const f of factories) await f.cleanup();
});

const old = "2026-01-01T00:00:00.000Z";
const live = (unowned: boolean): BatchLiveness => {
  const now = Date.now();
  return { self: "me", staleBefore: now - 1_000, now, othersAreDead: false, busy: new Set(), unowned };
};

/** Run the start-up sweep through a store whose statements are captured; returns them. */
async function sweepStatements(
  db: (log: (sql: string, params: readonly unknown[]) => void) => Kysely<AllTables>,
  dialect: "sqlite" | "postgres",
) {
  const seen: { sql: string; params: readonly unknown[] }[] = [];
  const k = db((s, p) => seen.push({ sql: s, params: p }));
  const store = new KyselyBatchStore(k, dialect);
  await store.recoverSubmits(live(true), "unknown", { status: "unknown", code: "x", message: "x" });
  await store.adoptOperations(live(true));
  await k.destroy();
  return seen.filter((s) => /^select/i.test(s.sql) && /"deliveries"/.test(s.sql));
}

it("sqlite: the start-up batch sweep does not scan the whole deliveries table", { timeout: 120_000 }, async () => {
  const f = createStoreFactory("sqlite");
  factories.push(f);
  await f.open();
  const path = f.databaseUrl.slice("sqlite:".length);
  const raw = new Database(path);
  const ins = raw.prepare(
    "insert into deliveries (notification_id, seq, recipient_key, kind, tenant_id, status, user_id, updated_at, last_error_code) values (?, ?, ?, 'user', 't1', 'sent', ?, ?, ?)",
  );
  raw.transaction(() => {
    for (let i = 0; i < ROWS; i++) ins.run(`n${i % 20}`, i, `k${i}`, `29:u${i}`, old, i % 2 ? null : "batch/sent");
  })();
  raw.exec("analyze");
  const statements = await sweepStatements(
    (log) =>
      new Kysely<AllTables>({
        dialect: new SqliteDialect({ database: new Database(path) }),
        log: (e) => log(e.query.sql, e.query.parameters),
      }),
    "sqlite",
  );
  expect(statements.length).toBeGreaterThanOrEqual(2);
  for (const s of statements) {
    const plan = (raw.prepare(`explain query plan ${s.sql}`).all(...(s.params as unknown[])) as { detail: string }[]).map((r) => r.detail);
    expect(
      plan.filter((d) => /^SCAN deliveries\b/.test(d)),
      `${s.sql}\n${plan.join("\n")}`,
    ).toEqual([]);
  }
  raw.close();
});

it("postgres: the start-up batch sweep does not scan the whole deliveries table", { timeout: 120_000 }, async () => {
  const f = createStoreFactory("postgres");
  factories.push(f);
  await f.open();
  const schema = f.options.schema ?? "public";
  await withPostgres(async (c) => {
    await c.query(`set search_path to "${schema}"`);
    await c.query(
      `insert into deliveries (notification_id, seq, recipient_key, kind, tenant_id, status, user_id, updated_at, last_error_code)
       select 'n' || (i % 20), i, 'k' || i, 'user', 't1', 'sent', '29:u' || i, '${old}', case when i % 2 = 0 then 'batch/sent' else null end
       from generate_series(0, ${ROWS - 1}) i`,
    );
    await c.query("analyze deliveries");
    await c.query("analyze notifications");
  });
  const pool = () => new pg.Pool({ connectionString: f.databaseUrl, max: 2, options: `-c search_path=${schema} -c TimeZone=UTC` });
  const statements = await sweepStatements(
    (log) => new Kysely<AllTables>({ dialect: new PostgresDialect({ pool: pool() }), log: (e) => log(e.query.sql, e.query.parameters) }),
    "postgres",
  );
  expect(statements.length).toBeGreaterThanOrEqual(2);
  await withPostgres(async (c) => {
    await c.query(`set search_path to "${schema}"`);
    for (const s of statements) {
      const plan = (await c.query(`explain ${s.sql}`, s.params as unknown[])).rows.map((r: { "QUERY PLAN": string }) => r["QUERY PLAN"]);
      // Every read of deliveries goes by notification (an index scan keyed on status alone walks the whole index).
      const reads = plan.map((d, i) => ({ d, cond: plan[i + 1] ?? "" })).filter((x) => /Scan.* on deliveries\b/.test(x.d));
      const whole = reads.filter((x) => !/Index Cond: \(+notification_id =/.test(x.cond)).map((x) => x.d.trim());
      expect(whole, `${s.sql}\n${plan.join("\n")}`).toEqual([]);
    }
  });
});
