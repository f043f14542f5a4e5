import type { Kysely } from "kysely";
import type { StoreDialect } from "../kysely/backend.js";

/**
 * One step of the database schema. Applied once, in the order of `migrations` (./index.ts),
 * inside the migration transaction; recorded by `name` in `herald_migrations`.
 * Never edit or rename a migration that has shipped: add a new one.
 */
export interface Migration {
  /** `NNN_what`, e.g. `003_notifications`; the number gives the order. */
  readonly name: string;
  /**
   * Change the schema. `db` is typed loosely on purpose: a migration describes the tables as they
   * were at its time, not as `Database` (../kysely/schema.ts) describes them today. Branch on
   * `dialect` only where SQLite and PostgreSQL truly differ (identity columns, types).
   */
  up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void>;
}
