import { mkdirSync, realpathSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { Kysely } from "kysely";
import { StoreError } from "../errors.js";
import type { SqlBackend } from "../kysely/backend.js";
import type { Database as Tables } from "../kysely/schema.js";
import { type KyselyStore, openKyselyStore } from "../kysely/store.js";
import { type Checkpointer, startCheckpointer } from "./checkpointer.js";
import { ImmediateSqliteDialect } from "./dialect.js";
import { lockSqliteFile, type SqliteFileLock } from "./lock.js";
import { withStatementCache } from "./statement-cache.js";

/** How long a write waits for another process holding the file's write lock, in milliseconds. */
export const sqliteBusyTimeoutMs = 5_000;

/**
 * Open (creating if missing, with its parent directories) the SQLite file at `path`, or an
 * in-memory database for `:memory:`, and apply pending migrations.
 *
 * Pragmas: `journal_mode = WAL` (readers never wait for the writer), `synchronous = NORMAL` (safe
 * with WAL; a power cut may lose the last transactions but never corrupts), `busy_timeout` as above.
 * A file's checkpoints run in a worker thread (checkpointer.ts), not in the store's commits.
 * One process owns the file: another process is refused with HERALD_E_STORE_LOCKED while this
 * one has a store open on it (see lock.ts).
 */
export async function openSqliteStore(path: string): Promise<KyselyStore> {
  const memory = path === ":memory:";
  const where = memory ? "sqlite::memory:" : resolve(path);
  let database: Database.Database;
  let lock: SqliteFileLock | undefined;
  try {
    if (!memory) {
      mkdirSync(dirname(where), { recursive: true });
      // The same file reached through a symbolic link must take the same lock.
      lock = lockSqliteFile(realPath(where));
    }
    database = new Database(memory ? ":memory:" : where);
    database.pragma(`busy_timeout = ${sqliteBusyTimeoutMs}`);
    database.pragma("journal_mode = WAL");
    database.pragma("synchronous = NORMAL");
  } catch (e) {
    lock?.release();
    if (e instanceof StoreError) throw e;
    throw new StoreError(
      "HERALD_E_STORE_OPEN",
      `Cannot open the SQLite database ${where} (${(e as Error).message}). Check the path in HERALD_DATABASE_URL and that its directory is writable.`,
      { cause: e },
    );
  }
  let checkpointer: Checkpointer | undefined;
  const backend: SqlBackend = {
    dialect: "sqlite",
    db: new Kysely<Tables>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(database) }) }),
    // BEGIN IMMEDIATE already holds the file's write lock: a second process waits on busy_timeout.
    lockForMigrations: async () => {},
    beforeClose: async () => checkpointer?.stop(),
    release: () => {
      checkpointer?.release();
      lock?.release();
    },
  };
  const store = await openKyselyStore(backend, where);
  // After the migrations: the worker opens the file as they left it (checkpointer.ts).
  if (!memory) checkpointer = startCheckpointer(where, database);
  return store;
}

/** `where` with symbolic links resolved (of the file when it exists, else of its directory). */
function realPath(where: string): string {
  try {
    return realpathSync(where);
  } catch {
    return join(realpathSync(dirname(where)), basename(where));
  }
}
