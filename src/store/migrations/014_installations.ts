import type { Migration } from "./migration.js";

/**
 * Proactive installation through Graph (issue 15): `POST /v1/installations` jobs.
 * - `installation_jobs`: one row per job, with its live counts (updated with every page of
 *   outcomes, in the same transaction as the outcomes themselves);
 * - `installation_items`: one row per user of the job and what Graph said (the CSV), keyed by
 *   `(job_id, seq)`.
 */
export const m014Installations: Migration = {
  name: "014_installations",
  async up(db) {
    await db.schema
      .createTable("installation_jobs")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("audience", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("total", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("installed", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("already_installed", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("refused", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("failed", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("error", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("completed_at", "text")
      .execute();
    await db.schema
      .createTable("installation_items")
      .addColumn("job_id", "text", (c) => c.notNull())
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("code", "text")
      .addColumn("message", "text")
      .addColumn("at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("installation_items_pkey", ["job_id", "seq"])
      .execute();
  },
};
