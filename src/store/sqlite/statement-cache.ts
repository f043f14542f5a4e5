import type Database from "better-sqlite3";
import type { SqliteDatabase, SqliteStatement } from "kysely";

/** Distinct statements kept prepared. Multi-row writes differ by row count (1..500), so a few hundred are common. */
export const preparedStatementsKept = 1_000;

/**
 * The database as Kysely's SQLite driver sees it, except that `prepare` keeps what it prepared:
 * the driver prepares every query anew, and on the delivery hot path (the same few statements
 * thousands of times a second) preparing cost as much as running. Least recently used statements
 * are dropped past `max`. Safe because the driver runs one statement at a time on its single
 * connection, and SQLite re-prepares a kept statement by itself when the schema changes.
 */
export function withStatementCache(database: Database.Database, max = preparedStatementsKept): SqliteDatabase {
  const kept = new Map<string, SqliteStatement>();
  return {
    close: () => {
      kept.clear();
      database.close();
    },
    prepare(sql: string): SqliteStatement {
      const hit = kept.get(sql);
      if (hit) {
        kept.delete(sql);
        kept.set(sql, hit);
        return hit;
      }
      const stmt = database.prepare(sql) as unknown as SqliteStatement;
      kept.set(sql, stmt);
      if (kept.size > max) kept.delete(kept.keys().next().value as string);
      return stmt;
    },
  };
}
