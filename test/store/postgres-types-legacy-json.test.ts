import { randomBytes } from "node:crypto";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { SqlBackend } from "../../src/store/kysely/backend.js";
import { migrate } from "../../src/store/kysely/migrator.js";
import type { Database } from "../../src/store/kysely/schema.js";
import { m018PostgresTypes } from "../../src/store/migrations/018_postgres_types.js";
import { migrations } from "../../src/store/migrations/index.js";
import { postgresTypeParsers } from "../../src/store/postgres/types.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

const schema = `herald_rev6_${randomBytes(5).toString("hex")}`;
let pool: pg.Pool;
let backend: SqlBackend;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: testPostgresUrl, max: 2, options: `-c search_path=${schema}`, types: postgresTypeParsers });
  backend = {
    dialect: "postgres",
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    lockForMigrations: async (trx) => {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
    },
  };
  await migrate(backend, migrations.slice(0, migrations.indexOf(m018PostgresTypes)));
});
afterAll(async () => {
  await backend.db.destroy();
  await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
});

it("a 017 database whose audit details hold an escaped NUL (storable as JSON text before the body guard) still migrates", async () => {
  // What the store wrote before 3ca53a0 / 4373862 for a body field "a\u0000b" or "\ud800": JSON.stringify's escape, 6 ASCII chars.
  await pool.query("insert into audit_log (at, actor, action, target, details) values ($1, 'k', 'notification.create', 'n1', $2)", [
    new Date().toISOString(),
    JSON.stringify({ note: "a\u0000b", half: "\ud800" }),
  ]);
  await expect(migrate(backend, migrations)).resolves.toContain("018_postgres_types");
});

it("the unstorable characters became U+FFFD, the rest of the document kept", async () => {
  const { rows } = await pool.query("select details from audit_log where target = 'n1'");
  expect(JSON.parse(rows[0].details)).toEqual({ note: "a\ufffdb", half: "\ufffd" });
});
