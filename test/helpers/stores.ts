import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterAll, describe } from "vitest";
import type { Delivery } from "../../src/delivery/model.js";
import type { SqlBackend } from "../../src/store/kysely/backend.js";
import type { Database as Tables } from "../../src/store/kysely/schema.js";
import { type OpenStoreOptions, openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/ports.js";
import { postgresTypeParsers } from "../../src/store/postgres/types.js";

/**
 * Stores for tests, one fresh database per factory (a temp SQLite file, or a random PostgreSQL
 * schema dropped at cleanup), so test files run in parallel. Any suite that needs a `Store`
 * runs against both back ends with `forEachStore`.
 */

/** PostgreSQL for tests (trust auth on loopback); override with HERALD_TEST_DATABASE_URL. */
export const testPostgresUrl = process.env["HERALD_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/test";

export type StoreBackendName = "sqlite" | "postgres";
export const storeBackends: readonly StoreBackendName[] = ["sqlite", "postgres"];

export interface StoreFactory {
  readonly name: StoreBackendName;
  /** What to pass to `openStore` (or set as HERALD_DATABASE_URL) to reach this factory's database. */
  readonly databaseUrl: string;
  readonly options: OpenStoreOptions;
  /** Open a new handle on this factory's database (migrating it on first open); closed by `cleanup`. */
  open(): Promise<Store>;
  /** Close every handle `open` gave and remove the database (file or schema). */
  cleanup(): Promise<void>;
}

/** A factory over a fresh database of the named back end. Nothing is created until `open`. */
export function createStoreFactory(name: StoreBackendName): StoreFactory {
  const suffix = randomBytes(6).toString("hex");
  const opened: Store[] = [];
  const track = async (options: OpenStoreOptions, databaseUrl: string) => {
    const store = await openStore(databaseUrl, options);
    opened.push(store);
    return store;
  };
  const closeAll = async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  };
  if (name === "sqlite") {
    const dir = join(tmpdir(), `herald-store-${suffix}`);
    // A nested path: opening must create the parent directories.
    const databaseUrl = `sqlite:${join(dir, "data", "herald.db")}`;
    return {
      name,
      databaseUrl,
      options: {},
      open: () => track({}, databaseUrl),
      cleanup: async () => {
        await closeAll();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const options = { schema: `herald_test_${suffix}` };
  return {
    name,
    databaseUrl: testPostgresUrl,
    options,
    open: () => track(options, testPostgresUrl),
    cleanup: async () => {
      await closeAll();
      await withPostgres((client) => client.query(`drop schema if exists "${options.schema}" cascade`));
    },
  };
}

/**
 * Declare `suite` once per back end, inside `describe("<name> store")`, with a fresh factory whose
 * databases are removed after the suite. Open stores with `stores.open()` (e.g. in `beforeAll`).
 */
export function forEachStore(suite: (stores: StoreFactory) => void): void {
  for (const name of storeBackends) {
    describe(`${name} store`, () => {
      const stores = createStoreFactory(name);
      afterAll(() => stores.cleanup());
      suite(stores);
    });
  }
}

/** Run `fn` with a plain pg client on the test database (for checks a `Store` does not expose). */
export async function withPostgres<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: testPostgresUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Make `worker`'s last heartbeat `ms` older on the store's clock. PostgreSQL writes and judges
 * heartbeats with its own `now()` (whatever time the process passes), so a test that wants a
 * dead worker moves its heartbeat back in the database; on SQLite the times the test passed to
 * `heartbeat` are the heartbeats, and this does nothing.
 */
export async function ageHeartbeat(stores: StoreFactory, worker: string, ms: number): Promise<void> {
  if (stores.name !== "postgres") return;
  await withPostgres((c) =>
    c.query(
      `update "${stores.options.schema}".delivery_workers set heartbeat_at = heartbeat_at - $2 * interval '1 millisecond' where id = $1`,
      [worker, ms],
    ),
  );
}

/** Every delivery row of notification `id`, in recipient order, read through the store's pages of 1000. */
export async function allDeliveries(store: Store, id: string): Promise<Delivery[]> {
  const out: Delivery[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.deliveries.listDeliveries(id, {}, { cursor, limit: 1000 });
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/**
 * Every column of the rows of `table` whose `column` is `value`, read straight from the database
 * (not through the store's mapping): what a "nothing changed" check compares. `table` and
 * `column` are names from the test, never input.
 */
export async function rawRows(
  stores: StoreFactory,
  table: "deliveries" | "notifications" | "notification_tenants" | "delivery_workers",
  column: "id" | "notification_id",
  value: string,
): Promise<Record<string, unknown>[]> {
  if (stores.name === "postgres")
    return withPostgres(
      async (c) => (await c.query(`select * from "${stores.options.schema}".${table} where ${column} = $1 order by 1, 2`, [value])).rows,
    );
  const db = new Database(stores.databaseUrl.slice("sqlite:".length), { readonly: true });
  try {
    return db.prepare(`select * from ${table} where ${column} = ? order by 1, 2`).all(value) as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/**
 * A migration backend on a fresh PostgreSQL schema of its own (`<prefix>_<random>`, its
 * search_path), for tests that apply migrations one by one; `drop` ends its pool and drops the schema.
 */
export function postgresSchemaBackend(prefix: string): { schema: string; backend: SqlBackend; drop(): Promise<void> } {
  const schema = `${prefix}_${randomBytes(5).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: testPostgresUrl, max: 2, options: `-c search_path=${schema}`, types: postgresTypeParsers });
  const backend: SqlBackend = {
    dialect: "postgres",
    db: new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) }),
    lockForMigrations: async (trx) => {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
    },
  };
  return {
    schema,
    backend,
    drop: async () => {
      await pool.end();
      await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
    },
  };
}
