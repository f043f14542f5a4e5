import type { Migration } from "./migration.js";

/**
 * Categories, quiet hours, frequency caps (issue 11).
 *
 * - `tenant_settings`: one row per tenant: its default time zone, quiet hours (`HH:MM` local
 *   start and end; the end may be on the next day) and working days (JSON array of `mon`..`sun`).
 * - `notifications.priority` (`urgent` passes every hold; null = normal) and
 *   `notifications.footer` (1: the message ends with how to stop it).
 * - `deliveries.held_until` / `held_reason`: the last hold of a row (quiet hours, working days,
 *   frequency cap), kept after it is sent so the row says why it left late.
 * - `frequency_sends`: one row per non-urgent send let through to a person, counted against
 *   HERALD_FREQUENCY_CAP; keyed by the delivery row, so a row claimed again is counted once.
 */
export const m013Preferences: Migration = {
  name: "013_preferences",
  async up(db, dialect) {
    const bigint = dialect === "postgres" ? "bigint" : "integer";
    await db.schema
      .createTable("tenant_settings")
      .addColumn("tenant_id", "text", (c) => c.primaryKey())
      .addColumn("time_zone", "text")
      .addColumn("quiet_start", "text")
      .addColumn("quiet_end", "text")
      .addColumn("working_days", "text")
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.alterTable("notifications").addColumn("priority", "text").execute();
    await db.schema.alterTable("notifications").addColumn("footer", "integer").execute();
    await db.schema.alterTable("deliveries").addColumn("held_until", "text").execute();
    await db.schema.alterTable("deliveries").addColumn("held_reason", "text").execute();
    await db.schema
      .createTable("frequency_sends")
      .addColumn("notification_id", "text", (c) => c.notNull())
      .addColumn("seq", bigint, (c) => c.notNull())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("at", bigint, (c) => c.notNull())
      .addPrimaryKeyConstraint("frequency_sends_pkey", ["notification_id", "seq"])
      .execute();
    await db.schema.createIndex("frequency_sends_user").on("frequency_sends").columns(["tenant_id", "user_id", "at"]).execute();
  },
};
