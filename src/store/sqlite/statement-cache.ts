import type Database from "better-sqlite3";
import type { SqliteDatabase, SqliteStatement } from "kysely";

/** Statements longer than this (characters) are prepared each time and not kept. */
export const longestKeptStatement = 2_000;
/** Total length of the statements kept, in characters: a prepared statement takes about 20 bytes of memory per character. */
export const keptStatementsBudget = 200_000;

/**
 * The database as Kysely's SQLite driver sees it, except that `prepare` keeps what it prepared:
 * the driver prepares every query anew, and on the delivery hot path (the same few statements
 * thousands of times a second) preparing cost as much as running.
 *
 * Only short statements are kept: a long one is a multi-row write whose preparing is shared by
 * its hundreds of rows anyway, and multi-row writes come in every size from 1 to 500 rows, each
 * its own text: keeping them all took about 200 MB. The least recently used statements go once
 * the kept texts pass `keptStatementsBudget` (about 4 MB of prepared statements).
 *
 * Safe because the driver runs one statement at a time on its single connection and never
 * streams (`iterate`) here, and SQLite re-prepares a kept statement by itself when the schema changes.
 */
export function withStatementCache(database: Database.Database): SqliteDatabase {
  const kept = new Map<string, SqliteStatement>();
  let size = 0;
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
      if (sql.length > longestKeptStatement) return stmt;
      kept.set(sql, stmt);
      size += sql.length;
      for (const oldest of kept.keys()) {
        if (size <= keptStatementsBudget) break;
        kept.delete(oldest);
        size -= oldest.length;
      }
      return stmt;
    },
  };
}
