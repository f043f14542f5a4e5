import type { Migration } from "./migration.js";

/**
 * Conversation references (see ../kysely/schema.ts for the column conventions).
 *
 * Indexes follow the queries, for a million rows:
 * - `list` pages by `seq` (keyset) under optional filters; each index ends in `seq` so a page is a
 *   range scan in page order with no sort, however deep: `(tenant_id, status, seq)` for a
 *   broadcast to a tenant's active conversations, `(tenant_id, seq)` for listing a tenant,
 *   `(status, seq)` for all active ones or the blocked report, `(team_id, seq)` for a team (also
 *   what team renames and status changes update). `kind` is few-valued: it filters rows on the way.
 * - `findPersonal` looks a user up by Teams id or Entra object id: `(user_id, tenant_id)` and
 *   `(user_aad_object_id, tenant_id)`, one search each (see `personalQuery`).
 */
export const m001Conversations: Migration = {
  name: "001_conversations",
  async up(db, dialect) {
    await db.schema
      .createTable("conversations")
      .addColumn("seq", dialect === "postgres" ? "bigint" : "integer", (c) =>
        dialect === "postgres" ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement(),
      )
      .addColumn("id", "text", (c) => c.notNull().unique())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("service_url", "text", (c) => c.notNull())
      .addColumn("channel_id", "text", (c) => c.notNull())
      .addColumn("bot_id", "text", (c) => c.notNull())
      .addColumn("bot_name", "text")
      .addColumn("bot_aad_object_id", "text")
      .addColumn("user_id", "text")
      .addColumn("user_name", "text")
      .addColumn("user_aad_object_id", "text")
      .addColumn("team_id", "text")
      .addColumn("team_name", "text")
      .addColumn("team_aad_group_id", "text")
      .addColumn("teams_channel_id", "text")
      .addColumn("teams_channel_name", "text")
      .addColumn("locale", "text")
      .addColumn("timezone", "text")
      .addColumn("installed_by_id", "text")
      .addColumn("installed_by_name", "text")
      .addColumn("installed_by_aad_object_id", "text")
      .addColumn("installed_at", "text")
      .addColumn("last_activity_at", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("status_code", "text")
      .addColumn("status_changed_at", "text")
      .addColumn("archived", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("conversations_tenant_status_seq").on("conversations").columns(["tenant_id", "status", "seq"]).execute();
    await db.schema.createIndex("conversations_tenant_seq").on("conversations").columns(["tenant_id", "seq"]).execute();
    await db.schema.createIndex("conversations_team_seq").on("conversations").columns(["team_id", "seq"]).execute();
    await db.schema.createIndex("conversations_status_seq").on("conversations").columns(["status", "seq"]).execute();
    await db.schema.createIndex("conversations_user_id").on("conversations").columns(["user_id", "tenant_id"]).execute();
    await db.schema.createIndex("conversations_user_aad").on("conversations").columns(["user_aad_object_id", "tenant_id"]).execute();
  },
};
