import { sql } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Local-time schedules and recurring series (issue 11).
 *
 * - `deliveries.not_before` (ISO text): the instant the row may first be sent, shown in the
 *   deliveries view; `deliveries.timezone`: the IANA zone it was computed in. A new row's
 *   `due_at` is set to the same instant, so the claim keeps reading the partial index
 *   `deliveries_ready (notification_id, tenant_id, due_at, seq)` and a row whose time has not come
 *   is never in the range it reads; the claim's `not_before` test only re-checks those rows.
 * - `notifications.schedule` (JSON as the request gave it), `series_id`, `series_run_at`: a
 *   series' run is a notification; the unique `notifications_series_run (series_id,
 *   series_run_at)` makes a second notification for the same run impossible whatever process
 *   writes it.
 * - `notification_series`: one row per series. A run is claimed by a conditional update of
 *   `next_run_at` (only the process whose update matched starts the run); `pending_*` hold a run
 *   claimed but not yet written as a notification, taken over when its claimer died.
 *   `notification_series_due (state, next_run_at)` answers "which series are due" with a range.
 */
export const m012Schedules: Migration = {
  name: "012_schedules",
  async up(db) {
    await db.schema.alterTable("deliveries").addColumn("not_before", "text").execute();
    await db.schema.alterTable("deliveries").addColumn("timezone", "text").execute();
    await db.schema.alterTable("notifications").addColumn("schedule", "text").execute();
    await db.schema.alterTable("notifications").addColumn("series_id", "text").execute();
    await db.schema.alterTable("notifications").addColumn("series_run_at", "text").execute();
    await db.schema
      .createIndex("notifications_series_run")
      .on("notifications")
      .columns(["series_id", "series_run_at"])
      .unique()
      .where(sql.ref("series_id"), "is not", null)
      .execute();
    await db.schema
      .createTable("notification_series")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("caller_tenants", "text")
      .addColumn("tenant_id", "text")
      .addColumn("audience", "text", (c) => c.notNull())
      .addColumn("message", "text", (c) => c.notNull())
      .addColumn("data", "text")
      .addColumn("category", "text")
      .addColumn("cron", "text", (c) => c.notNull())
      .addColumn("time_zone", "text", (c) => c.notNull())
      .addColumn("local_time", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("until", "text")
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("next_run_at", "text")
      .addColumn("last_run_at", "text")
      .addColumn("last_notification_id", "text")
      .addColumn("runs", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("pending_run_at", "text")
      .addColumn("pending_owner", "text")
      .addColumn("pending_since", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("notification_series_due").on("notification_series").columns(["state", "next_run_at"]).execute();
  },
};
