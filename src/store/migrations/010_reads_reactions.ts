import { sql } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Read receipts, reactions and the running totals of answers (issue 10).
 *
 * - `deliveries.read_at`: when the recipient read the message (the 1:1 read-receipt event), null =
 *   not known to be read; `notifications.read_count` counts rows whose `read_at` was set, moved in
 *   the same statement-pair as the row so no request counts rows.
 * - `deliveries.card_total`: the number of answers the shared card of a channel post last showed;
 *   a channel card whose `card_total` is below the notification's answers still needs its PUT
 *   (found again after a restart, so the last totals always land).
 * - `deliveries_activity (conversation_id, activity_id)` partial on sent rows: an invoke, a
 *   reaction or a read receipt names the bot's activity; this finds its delivery.
 * - `response_reactions`: one row per (delivery, user, reaction type) currently on the message.
 * - `response_counts`: the running totals of a notification's answers: one row per option index,
 *   and option -1 for the number of people who answered. Moved in the answer's transaction, so a
 *   vote never recounts the answers.
 */
export const m010ReadsReactions: Migration = {
  name: "010_reads_reactions",
  async up(db) {
    await db.schema.alterTable("deliveries").addColumn("read_at", "text").execute();
    await db.schema.alterTable("deliveries").addColumn("card_total", "integer").execute();
    await db.schema
      .alterTable("notifications")
      .addColumn("read_count", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createIndex("deliveries_activity")
      .on("deliveries")
      .columns(["conversation_id", "activity_id"])
      .where(sql.ref("activity_id"), "is not", sql.lit(null))
      .execute();
    await db.schema
      .createTable("response_reactions")
      .addColumn("notification_id", "text", (c) => c.notNull())
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("response_reactions_pkey", ["notification_id", "seq", "user_id", "type"])
      .execute();
    await db.schema
      .createTable("response_counts")
      .addColumn("notification_id", "text", (c) => c.notNull())
      .addColumn("option", "integer", (c) => c.notNull())
      .addColumn("count", "integer", (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint("response_counts_pkey", ["notification_id", "option"])
      .execute();
  },
};
