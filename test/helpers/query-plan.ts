import Database from "better-sqlite3";
import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from "kysely";
import pg from "pg";
import type { AllTables } from "../../src/store/kysely/delivery-schema.js";

/** Query plans for tests that check a statement walks an index rather than scanning or sorting a table. */

/** A Kysely that only compiles, in the back end's SQL. */
export function compileOnly(backend: string): Kysely<AllTables> {
  const postgres = backend === "postgres";
  return new Kysely<AllTables>({
    dialect: {
      createAdapter: () => (postgres ? new PostgresAdapter() : new SqliteAdapter()),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => (postgres ? new PostgresIntrospector(db) : new SqliteIntrospector(db)),
      createQueryCompiler: () => (postgres ? new PostgresQueryCompiler() : new SqliteQueryCompiler()),
    },
  });
}

/**
 * The query plan as text: SQLite's EXPLAIN QUERY PLAN, or PostgreSQL's EXPLAIN. On PostgreSQL
 * sequential scans are priced out (a tiny table would be scanned whole), unless `realistic`: the
 * test seeded a table of a real size and its statistics, and asks what the planner would choose.
 */
export async function explain(
  databaseUrl: string,
  schema: string | undefined,
  sql: string,
  parameters: readonly unknown[],
  options: { realistic?: boolean } = {},
): Promise<string> {
  if (databaseUrl.startsWith("sqlite:")) {
    const db = new Database(databaseUrl.slice("sqlite:".length), { readonly: true });
    try {
      const rows = db.prepare(`explain query plan ${sql}`).all(...parameters) as { detail: string }[];
      return rows.map((r) => r.detail).join("\n");
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`set search_path to "${schema}"`);
    if (!options.realistic) await client.query("set enable_seqscan = off");
    const { rows } = await client.query<{ "QUERY PLAN": string }>(`explain ${sql}`, [...parameters]);
    return rows.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await client.end();
  }
}
