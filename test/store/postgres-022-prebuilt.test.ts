import { randomBytes } from "node:crypto";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { SqlBackend } from "../../src/store/kysely/backend.js";
import { migrate } from "../../src/store/kysely/migrator.js";
import type { Database } from "../../src/store/kysely/schema.js";
import { m022PersonalIdOrder } from "../../src/store/migrations/022_personal_id_order.js";
import { migrations } from "../../src/store/migrations/index.js";
import { postgresTypeParsers } from "../../src/store/postgres/types.js";
import { postgresSchemaBackend, testPostgresUrl, withPostgres } from "../helpers/stores.js";

/**
 * 022_personal_id_order creates its indexes `IF NOT EXISTS`, so that an operator can build them
 * beforehand with `CREATE INDEX CONCURRENTLY` (docs/deployment.md). An index of that name that is
 * not the right one must not pass for it: a concurrent build that failed leaves it INVALID, and
 * one built without `COLLATE "C"` is not used by the queries (every page of a broadcast would
 * scan and sort the table). The migration builds such an index again, and keeps a right one.
 */
const { schema, backend, drop } = postgresSchemaBackend("herald_m022");
const before022 = migrations.slice(0, migrations.indexOf(m022PersonalIdOrder));
/** Up to 022 and no further: later migrations are not this test's subject. */
const through022 = migrations.slice(0, migrations.indexOf(m022PersonalIdOrder) + 1);

beforeAll(async () => {
  expect(migrations.indexOf(m022PersonalIdOrder)).toBeGreaterThan(0);
  await migrate(backend, before022);
});
afterAll(() => drop());

async function indexes(): Promise<Map<string, { oid: number; valid: boolean; def: string }>> {
  const { rows } = await withPostgres((c) =>
    c.query<{ name: string; oid: number; valid: boolean; def: string }>(
      `select c.relname as name, c.oid::int as oid, i.indisvalid as valid, pg_get_indexdef(i.indexrelid) as def
       from pg_index i join pg_class c on c.oid = i.indexrelid
       where c.relnamespace = $1::regnamespace and c.relname in ('conversations_tenant_status_id', 'conversations_status_id')`,
      [schema],
    ),
  );
  return new Map(rows.map((r) => [r.name, { oid: r.oid, valid: r.valid, def: r.def }]));
}

/** Forget that 022 ran, so that the next `migrate` runs it again over what is there. */
const forget022 = () =>
  withPostgres((c) => c.query(`delete from "${schema}".herald_migrations where name = $1`, [m022PersonalIdOrder.name]));

it('a pre-built index without COLLATE "C" is built again with it', async () => {
  await withPostgres((c) => c.query(`create index conversations_status_id on "${schema}".conversations (status, id)`));
  await withPostgres((c) =>
    c.query(`create index concurrently conversations_tenant_status_id on "${schema}".conversations (tenant_id, status, id collate "C")`),
  );
  const prebuilt = await indexes();
  expect(await migrate(backend, through022)).toEqual([m022PersonalIdOrder.name]);
  const after = await indexes();
  expect(after.get("conversations_status_id")?.def).toMatch(/USING btree \(status, id COLLATE "C"\)$/);
  expect(after.get("conversations_status_id")?.oid).not.toBe(prebuilt.get("conversations_status_id")?.oid);
  // The right one, built concurrently beforehand as the docs say, is kept as it was.
  expect(after.get("conversations_tenant_status_id")?.oid).toBe(prebuilt.get("conversations_tenant_status_id")?.oid);
});

it("an INVALID index (a concurrent build that failed) is built again", async () => {
  await forget022();
  // What a cancelled CREATE INDEX CONCURRENTLY leaves: the index, marked not valid.
  await withPostgres((c) =>
    c.query(`update pg_index set indisvalid = false where indexrelid = $1::regclass`, [`"${schema}".conversations_tenant_status_id`]),
  );
  expect((await indexes()).get("conversations_tenant_status_id")?.valid).toBe(false);
  expect(await migrate(backend, through022)).toEqual([m022PersonalIdOrder.name]);
  const after = await indexes();
  expect(after.get("conversations_tenant_status_id")).toMatchObject({ valid: true });
  expect(after.get("conversations_tenant_status_id")?.def).toMatch(/USING btree \(tenant_id, status, id COLLATE "C"\)$/);
});

it("runs in a schema whose name is not in lower case (found through the search_path)", async () => {
  const schema = `HeraldApp_${randomBytes(4).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: testPostgresUrl, max: 2, types: postgresTypeParsers });
  const backend: SqlBackend = {
    dialect: "postgres",
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    lockForMigrations: async (trx) => {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
      await sql`set local search_path = ${sql.id(schema)}`.execute(trx);
    },
  };
  try {
    expect(await migrate(backend, before022)).toHaveLength(before022.length);
    await expect(migrate(backend, through022)).resolves.toEqual([m022PersonalIdOrder.name]);
  } finally {
    await pool.end();
    await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
  }
});
