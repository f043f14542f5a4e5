import { sql } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Finds the rows of a notification that got a given 1:1 chat created at send time, so that two
 * rows naming one person by different ids (Teams id and Entra object id) do not both send
 * (`DeliveryStore.claimChat`). Partial on `kind = 'user'` (rows whose chat is created when sent):
 * rows of stored conversations, the bulk of a broadcast, never enter it.
 */
export const m007UserChatIndex: Migration = {
  name: "007_user_chat_index",
  async up(db) {
    await db.schema
      .createIndex("deliveries_user_chat")
      .on("deliveries")
      .columns(["notification_id", "conversation_id"])
      .where(sql.ref("kind"), "=", sql.lit("user"))
      .execute();
  },
};
