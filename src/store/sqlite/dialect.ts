import { CompiledQuery, type DatabaseConnection, type Driver, SqliteDialect, type SqliteDialectConfig, SqliteDriver } from "kysely";

/**
 * Kysely's SQLite dialect, except that transactions begin with `BEGIN IMMEDIATE`. A plain (deferred)
 * `BEGIN` takes the write lock only at the first write; if another process wrote in between,
 * SQLite answers SQLITE_BUSY at once and `busy_timeout` cannot help. Taking the lock up front makes
 * a second process wait for it instead. Every transaction of the store writes but one: the audience
 * page's two reads (recipients.ts `snapshot`), which want one snapshot of the table. The write lock
 * costs them nothing, as the process holds the file alone (lock.ts) and its one connection runs
 * one statement at a time anyway.
 */
export class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin immediate"));
  }
}
