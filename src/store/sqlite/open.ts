import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import { Kysely } from "kysely";
import { StoreError } from "../errors.js";
import type { SqlBackend } from "../kysely/backend.js";
import type { Database as Tables } from "../kysely/schema.js";
import { type KyselyStore, openKyselyStore } from "../kysely/store.js";
import { ImmediateSqliteDialect } from "./dialect.js";
import { withStatementCache } from "./statement-cache.js";

/** How long a write waits for another process holding the file's write lock, in milliseconds. */
export const sqliteBusyTimeoutMs = 5_000;

/**
 * Open (creating if missing, with its parent directories) the SQLite file at `path`, or an
 * in-memory database for `:memory:`, and apply pending migrations.
 *
 * Pragmas: `journal_mode = WAL` (readers never wait for the writer), `synchronous = NORMAL` (safe
 * with WAL; a power cut may lose the last transactions but never corrupts), `busy_timeout` as above.
 * One process should own the file: a second handle in the same process would wait synchronously
 * for the first's write lock and block the event loop the first needs to release it.
 */
export async function openSqliteStore(path: string): Promise<KyselyStore> {
  const memory = path === ":memory:";
  const where = memory ? "sqlite::memory:" : resolve(path);
  let database: Database.Database;
  try {
    if (!memory) mkdirSync(dirname(where), { recursive: true });
    database = new Database(memory ? ":memory:" : where);
    database.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`);
    database.pragma("journal_mode = WAL");
    database.pragma("synchronous = NORMAL");
  } catch (e) {
    throw new StoreError(
      "HERALD_E_STORE_OPEN",
      `Cannot open the SQLite database ${where} (${(e as Error).message}). Check the path in HERALD_DATABASE_URL and that its directory is writable.`,
      { cause: e },
    );
  }
  const backend: SqlBackend = {
    dialect: "sqlite",
    db: new Kysely<Tables>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(database) }) }),
    // BEGIN IMMEDIATE already holds the file's write lock: a second process waits on busy_timeout.
    lockForMigrations: async () => {},
  };
  return openKyselyStore(backend, where);
}
