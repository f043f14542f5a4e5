import { StoreError } from "./errors.js";
import type { Store } from "./ports.js";
import { openPostgresStore } from "./postgres/open.js";
import { openSqliteStore } from "./sqlite/open.js";

export interface OpenStoreOptions {
  /**
   * PostgreSQL only: the schema holding Herald's tables, created if missing (tests give each file
   * its own). Default: the server's `search_path`, normally `public`. Ignored for SQLite.
   */
  schema?: string | undefined;
}

/** Which back end a database URL names; pure. */
export type DatabaseTarget = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

/**
 * Read `HERALD_DATABASE_URL`: `sqlite:<path>` (relative to the working directory; `sqlite:///abs`
 * also accepted), `sqlite::memory:`, or `postgres://...` / `postgresql://...`.
 */
export function parseDatabaseUrl(databaseUrl: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\/./.test(databaseUrl)) return { kind: "postgres", url: databaseUrl };
  const sqlite = /^sqlite:(.+)$/.exec(databaseUrl)?.[1];
  if (sqlite !== undefined) return { kind: "sqlite", path: sqlite.startsWith("//") ? sqlite.slice(2) : sqlite };
  throw new StoreError(
    "HERALD_E_STORE_URL",
    `The database URL must be sqlite:<path> (e.g. sqlite:./data/herald.db) or postgres://user@host:5432/database; got "${databaseUrl.split(":")[0]}:...".`,
  );
}

/**
 * Open Herald's store: the composition root's one call. Connects, applies pending migrations
 * (safely when several processes start at once) and returns a ready `Store`; the caller closes it.
 * Fails with a `StoreError` (`HERALD_E_STORE_URL`, `_SCHEMA`, `_OPEN`, `_MIGRATION`) that says what to fix.
 */
export async function openStore(databaseUrl: string, options: OpenStoreOptions = {}): Promise<Store> {
  const target = parseDatabaseUrl(databaseUrl);
  return target.kind === "sqlite" ? openSqliteStore(target.path) : openPostgresStore(target.url, { schema: options.schema });
}
