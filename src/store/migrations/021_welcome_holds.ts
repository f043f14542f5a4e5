import type { Migration } from "./migration.js";

/**
 * Welcomes on their way (issue 15): an install event asks for a welcome into a conversation, and
 * until that welcome is sent (or `hold_until` passes) messages of other notifications into the
 * conversation wait, in every process sharing the database: a row claimed there is held back
 * (`heldReason: "welcome"`), and an install step that installed the app waits for the welcome
 * before its message. One row per conversation, replaced by the next install event; kept after
 * the hold ends (`hold_until` in the past), so an install step sees that the welcome it waited
 * for came and went.
 * - `asked_at`: when the install event asked for the welcome (the receiving process's clock);
 * - `notification_id`: the welcome's notification once stored (null before): its end ends the hold;
 * - `hold_until`: when the hold ends at the latest; set to the end time when the welcome is final.
 *
 * `install_leases`: the proactive install step for one person (`<tenant>|<graph id>`, lower
 * case) under way in one process (`owner`) until `lease_until` at the latest, so that another
 * process's step for the same person (another notification) waits instead of installing beside
 * it, whose 409 would send its message before the first install's welcome.
 * Times are `timestamptz` on PostgreSQL (as since 018_postgres_types), ISO text on SQLite.
 */
export const m021WelcomeHolds: Migration = {
  name: "021_welcome_holds",
  async up(db, dialect) {
    const time = dialect === "postgres" ? "timestamptz" : "text";
    await db.schema
      .createTable("welcome_holds")
      .addColumn("conversation_id", "text", (c) => c.primaryKey())
      .addColumn("asked_at", time, (c) => c.notNull())
      .addColumn("notification_id", "text")
      .addColumn("hold_until", time, (c) => c.notNull())
      .execute();
    await db.schema.createIndex("welcome_holds_notification").on("welcome_holds").column("notification_id").execute();
    await db.schema
      .createTable("install_leases")
      .addColumn("person", "text", (c) => c.primaryKey())
      .addColumn("owner", "text", (c) => c.notNull())
      .addColumn("lease_until", time, (c) => c.notNull())
      .execute();
  },
};
