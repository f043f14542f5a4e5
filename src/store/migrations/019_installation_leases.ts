import type { Migration } from "./migration.js";

/**
 * Installation jobs resume after a restart (issue 15). The process running a job holds a lease
 * on it, renewed while it runs and given up when it stops: a `running` job without a live lease
 * (its process stopped or died) is taken by the next Herald, which installs only the targets that
 * have no outcome yet.
 * - `lease_owner`: the process holding the job; null when nobody does;
 * - `lease_until`: when the lease ends unless renewed (ISO 8601 UTC text on SQLite, compared as
 *   text; `timestamptz` on PostgreSQL, like every time since 018_postgres_types).
 */
export const m019InstallationLeases: Migration = {
  name: "019_installation_leases",
  async up(db, dialect) {
    await db.schema.alterTable("installation_jobs").addColumn("lease_owner", "text").execute();
    await db.schema
      .alterTable("installation_jobs")
      .addColumn("lease_until", dialect === "postgres" ? "timestamptz" : "text")
      .execute();
  },
};
