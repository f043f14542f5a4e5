import type { Kysely } from "kysely";
import { isoNow, systemClock } from "../../clock.js";
import { StoreError } from "../errors.js";
import type { Migration } from "../migrations/index.js";
import type { SqlBackend } from "./backend.js";

const namePattern = /^(\d{3})_[a-z0-9_]+$/;

/**
 * Apply the migrations the database lacks, in order, in ONE transaction that first takes the
 * back end's migration lock: a second process starting at the same time waits, then finds them
 * applied and does nothing. A failing migration rolls the whole run back. Returns the names applied.
 * Names recorded in the database that this code does not know (a newer version ran) are left alone.
 */
export async function migrate(backend: SqlBackend, list: readonly Migration[]): Promise<string[]> {
  checkMigrationList(list);
  let current = "herald_migrations";
  try {
    return await backend.db.transaction().execute(async (trx) => {
      await backend.lockForMigrations(trx);
      await trx.schema
        .createTable("herald_migrations")
        .ifNotExists()
        .addColumn("name", "text", (c) => c.primaryKey())
        .addColumn("applied_at", "text", (c) => c.notNull())
        .execute();
      const applied = new Set((await trx.selectFrom("herald_migrations").select("name").execute()).map((r) => r.name));
      const done: string[] = [];
      for (const migration of list) {
        if (applied.has(migration.name)) continue;
        current = migration.name;
        // A migration sees the database untyped: it describes the tables of its own time (migration.ts).
        await migration.up(trx as unknown as Kysely<unknown>, backend.dialect);
        await trx
          .insertInto("herald_migrations")
          .values({ name: migration.name, applied_at: isoNow(systemClock) })
          .execute();
        done.push(migration.name);
      }
      return done;
    });
  } catch (e) {
    // 55P03: a migration's lock_timeout ran out waiting for a table another transaction holds.
    const busy = (e as { code?: unknown }).code === "55P03";
    const what = !busy
      ? "Check that the database user may create tables"
      : current === "herald_migrations"
        ? "A lock it needs is held by another transaction (another Herald starting, or a lock_timeout set for the role): find it in pg_stat_activity"
        : "A table it alters is held by another transaction (a long report, pg_dump, an idle transaction): find it in pg_stat_activity, let it end";
    throw new StoreError(
      "HERALD_E_STORE_MIGRATION",
      `Migration ${current} failed (${(e as Error).message}); nothing of this run was applied. ${what}, then start again.`,
      { cause: e },
    );
  }
}

/** The names of the applied migrations, or undefined when the database does not answer. */
export async function appliedMigrations(backend: SqlBackend): Promise<Set<string> | undefined> {
  try {
    return new Set((await backend.db.selectFrom("herald_migrations").select("name").execute()).map((r) => r.name));
  } catch {
    return undefined;
  }
}

/** A programming error, caught by the first test run: names must be `NNN_what`, numbered 001, 002, ... */
export function checkMigrationList(list: readonly Migration[]): void {
  list.forEach((m, i) => {
    const number = namePattern.exec(m.name)?.[1];
    if (number === undefined || Number(number) !== i + 1) {
      throw new Error(
        `Migration #${i + 1} is named "${m.name}"; it must be "${String(i + 1).padStart(3, "0")}_<what>" (see src/store/migrations/index.ts).`,
      );
    }
  });
}
