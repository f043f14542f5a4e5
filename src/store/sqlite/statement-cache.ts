import type Database from "better-sqlite3";
import type { SqliteDatabase, SqliteStatement } from "kysely";
import { withObjectRows } from "./row-shape.js";

/** Statements longer than this (characters) are prepared each time and not kept (a 500-row result update is ~26,000). */
export const longestKeptStatement = 32_000;
/** Statements that change the schema: never kept, and they drop every kept statement. */
const ddl = /^\s*(create|alter|drop)\s/i;
/** Total length of the statements kept, in characters: a prepared statement takes about 30 bytes of memory per character. */
export const keptStatementsBudget = 300_000;

/**
 * The database as Kysely's SQLite driver sees it, except that `prepare` keeps what it prepared:
 * the driver prepares every query anew, and on the delivery hot path (the same few statements
 * thousands of times a second) preparing cost as much as running.
 *
 * What is kept is bounded by the length of the texts, not their number: multi-row writes come in
 * every size from 1 to 500 rows, each its own text, and keeping all of them took about 200 MB.
 * The least recently used statements go once the kept texts pass `keptStatementsBudget` (about
 * 9 MB of prepared statements); a busy broadcast's batch sizes cluster, so its few sizes stay.
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
      const prepared = database.prepare(sql);
      // A schema change (the migrations) may change what a kept `select *` answers: start afresh,
      // whatever the statement's length.
      const changesSchema = ddl.test(sql);
      if (changesSchema) {
        kept.clear();
        size = 0;
      }
      if (changesSchema || sql.length > longestKeptStatement) return prepared as unknown as SqliteStatement;
      // A kept reader builds its rows faster (row-shape.ts), with a builder per column list.
      const stmt = prepared.reader ? withObjectRows(prepared) : (prepared as unknown as SqliteStatement);
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
