import type { Migration } from "./migration.js";

/**
 * Answers to notifications: poll votes, acknowledgements and survey answers (issue 10).
 *
 * - `responses`: one row per answer. `user_id`/`user_name` are null for an anonymous poll (the
 *   answer is stored without identity); `question_id` is the survey question's id, `''` for polls
 *   and acknowledgements; `value` is JSON (a poll: the chosen option indexes; an ack: `true`; a
 *   survey: `{text, choice?}`). `seq` orders a page (keyset cursor).
 * - `response_voters`: who answered which question of which notification, kept apart from the
 *   answer so an anonymous poll can refuse a second vote without linking a person to a choice.
 *   Its primary key makes "answered once" atomic: the answer is stored in the same transaction
 *   as this row, and a second insert fails.
 */
export const m009Responses: Migration = {
  name: "009_responses",
  async up(db, dialect) {
    const seq = dialect === "postgres" ? "bigserial" : "integer";
    await db.schema
      .createTable("responses")
      .addColumn("seq", seq, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn("notification_id", "text", (c) => c.notNull())
      .addColumn("delivery_id", "text")
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("user_id", "text")
      .addColumn("user_name", "text")
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("question_id", "text", (c) => c.notNull().defaultTo(""))
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("responses_notification").on("responses").columns(["notification_id", "seq"]).execute();
    await db.schema
      .createTable("response_voters")
      .addColumn("notification_id", "text", (c) => c.notNull())
      .addColumn("question_id", "text", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("response_voters_pkey", ["notification_id", "question_id", "user_id"])
      .execute();
  },
};
