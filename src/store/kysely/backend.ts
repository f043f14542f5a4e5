import type { Kysely, Transaction } from "kysely";
import type { Database } from "./schema.js";

/** The SQL databases Herald's store runs on. */
export type StoreDialect = "sqlite" | "postgres";

/**
 * What the shared Kysely store needs from a back end (`../sqlite/`, `../postgres/`): the
 * connected Kysely instance and the few things that differ per database. Everything else is
 * written once in this folder.
 */
export interface SqlBackend {
  readonly dialect: StoreDialect;
  /**
   * Transactions on it must take the write lock up front: PostgreSQL row locks come from
   * `SELECT ... FOR UPDATE`; SQLite has none, so its back end begins every transaction with
   * `BEGIN IMMEDIATE` (another process waits on `busy_timeout` instead of failing mid-transaction).
   */
  readonly db: Kysely<Database>;
  /**
   * Called first inside the migration transaction: hold whatever makes concurrent migrations of
   * the same database wait for each other (PostgreSQL: a transaction-scoped advisory lock), and
   * create the namespace the tables live in if missing.
   */
  lockForMigrations(trx: Transaction<Database>): Promise<void>;
  /** Called first when the store closes, before its connection: stop what the back end runs beside it (SQLite: the checkpoint worker). */
  beforeClose?(): Promise<void>;
  /** Called once the connection is closed (or opening failed): release what the back end holds besides it (SQLite: the file's lock). */
  release?(): void;
}
