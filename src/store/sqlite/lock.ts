import Database from "better-sqlite3";
import { StoreError } from "../errors.js";

/**
 * One Herald process per SQLite file. Two processes on one file would each treat the other's
 * work as a dead process's (a SQLite store recovers every other worker's rows at start-up) and
 * keep separate rate-limit buckets. So a process holds, for as long as it has a store open on the
 * file, an exclusive lock on a small companion database `<file>.lock` (SQLite's own locking:
 * with `locking_mode = EXCLUSIVE` the lock `BEGIN EXCLUSIVE` took is kept until the connection
 * closes). Another process is refused at once; the operating system drops the lock when a
 * process dies, even by SIGKILL, so a crash never blocks a restart. Stores opened on the same file
 * inside one process share the lock (tests, a library user's choice). The database file itself
 * keeps SQLite's normal locking, so backup and replication tools can still read it.
 */
export interface SqliteFileLock {
  readonly path: string;
  release(): void;
}

const held = new Map<string, { db: Database.Database; count: number }>();

/** Take (or share, in this process) the lock of the database at `where`, an absolute real path; throws HERALD_E_STORE_LOCKED. */
export function lockSqliteFile(where: string): SqliteFileLock {
  const path = `${where}.lock`;
  let entry = held.get(path);
  if (!entry) {
    entry = { db: exclusive(where, path), count: 0 };
    held.set(path, entry);
  }
  entry.count++;
  const taken = entry;
  let released = false;
  return {
    path,
    release: () => {
      if (released) return;
      released = true;
      if (--taken.count > 0) return;
      held.delete(path);
      taken.db.close();
    },
  };
}

function exclusive(where: string, path: string): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: 0 });
    db.pragma("locking_mode = EXCLUSIVE");
    db.pragma("journal_mode = MEMORY");
    db.exec("BEGIN EXCLUSIVE; COMMIT;");
    return db;
  } catch (e) {
    db?.close();
    if ((e as { code?: unknown }).code === "SQLITE_BUSY")
      throw new StoreError(
        "HERALD_E_STORE_LOCKED",
        `Another Herald process is using the SQLite database ${where} (it holds ${path}). A SQLite file belongs to one process: ` +
          "stop the other one or give this one another file; to run several Herald processes, use PostgreSQL (HERALD_DATABASE_URL=postgres://...).",
        { cause: e },
      );
    throw new StoreError(
      "HERALD_E_STORE_OPEN",
      `Cannot create the lock file ${path} of the SQLite database (${(e as Error).message}). Check that its directory is writable.`,
      { cause: e },
    );
  }
}
