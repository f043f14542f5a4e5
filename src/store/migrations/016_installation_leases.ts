import type { Migration } from "./migration.js";

/**
 * Installation jobs resume after a restart (issue 15). The process running a job holds a lease
 * on it, renewed while it runs and given up when it stops: a `running` job without a live lease
 * (its process stopped or died) is taken by the next Herald, which installs only the targets that
 * have no outcome yet.
 * - `lease_owner`: the process holding the job; null when nobody does;
 * - `lease_until`: when the lease ends unless renewed (ISO 8601 UTC, compared as text).
 *
 * Number: 019 once merged (016-018 are taken by others' work); 016 here because the migration
 * list must be contiguous.
 */
export const m016InstallationLeases: Migration = {
  name: "016_installation_leases",
  async up(db) {
    await db.schema.alterTable("installation_jobs").addColumn("lease_owner", "text").execute();
    await db.schema.alterTable("installation_jobs").addColumn("lease_until", "text").execute();
  },
};
