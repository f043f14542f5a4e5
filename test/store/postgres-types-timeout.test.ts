import { randomBytes } from "node:crypto";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterAll, expect, it } from "vitest";
import type { SqlBackend } from "../../src/store/kysely/backend.js";
import { migrate } from "../../src/store/kysely/migrator.js";
import type { Database } from "../../src/store/kysely/schema.js";
import { m018PostgresTypes } from "../../src/store/migrations/018_postgres_types.js";
import { migrations } from "../../src/store/migrations/index.js";
import { postgresTypeParsers } from "../../src/store/postgres/types.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

/**
 * Managed PostgreSQL often sets a statement_timeout on the role or database. Migration 018
 * rewrites whole tables (27 s per million deliveries measured): cut off, it would roll back and
 * every start would fail. It lifts the timeout for its own transaction.
 */
const schema = `herald_m018_timeout_${randomBytes(5).toString("hex")}`;
const pools: pg.Pool[] = [];

function backendWith(options: string): SqlBackend {
  const pool = new pg.Pool({ connectionString: testPostgresUrl, max: 2, options, types: postgresTypeParsers });
  pools.push(pool);
  return {
    dialect: "postgres",
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    lockForMigrations: async (trx) => {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
    },
  };
}

afterAll(async () => {
  for (const p of pools) await p.end();
  await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
});

it("migrates a large table under a 300 ms statement_timeout (a role's setting)", async () => {
  const before = backendWith(`-c search_path=${schema}`);
  await migrate(before, migrations.slice(0, migrations.indexOf(m018PostgresTypes)));
  await sql`insert into audit_log (at, actor, action, target, details)
    select to_char(timestamp '2026-01-01' + n * interval '1 second', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'k', 'notification.create', 'n' || n, '{"n":' || n || '}'
    from generate_series(1, 300000) as n`.execute(before.db);
  const limited = backendWith(`-c search_path=${schema} -c statement_timeout=300`);
  await expect(migrate(limited, migrations)).resolves.toContain("018_postgres_types");
  const { rows } = await withPostgres((c) =>
    c.query(
      `select data_type from information_schema.columns where table_schema = $1 and table_name = 'audit_log' and column_name = 'details'`,
      [schema],
    ),
  );
  expect(rows[0]?.data_type).toBe("jsonb");
}, 120_000);
