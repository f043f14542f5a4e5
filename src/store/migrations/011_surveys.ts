import type { Migration } from "./migration.js";

/**
 * Running surveys (issue 10): `survey_sessions` holds one row per person (tenant + Teams user id)
 * with every survey of theirs in `state` (JSON: the active one and its question, interrupted ones,
 * waiting ones), `expires_at` of the active question (ISO; null when none is active, indexed for
 * the expiry sweep) and `version` for optimistic concurrency (every write checks and bumps it).
 * Answers go to `responses` (kind `survey`) and `response_voters` from migration 009.
 */
export const m011Surveys: Migration = {
  name: "011_surveys",
  async up(db) {
    await db.schema
      .createTable("survey_sessions")
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("conversation_id", "text", (c) => c.notNull())
      .addColumn("service_url", "text", (c) => c.notNull())
      .addColumn("user_name", "text")
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("current_notification_id", "text")
      .addColumn("current_question", "integer")
      .addColumn("expires_at", "text")
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("survey_sessions_pkey", ["tenant_id", "user_id"])
      .execute();
    await db.schema.createIndex("survey_sessions_expiry").on("survey_sessions").column("expires_at").execute();
  },
};
