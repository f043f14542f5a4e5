import type { Migration } from "./migration.js";

/**
 * People who joined a team where the app is installed (issue 15): Teams' `conversationUpdate`
 * `teamMemberAdded` / `teamMemberRemoved`. One row per team and person (Teams id `29:...`), kept
 * like conversations keep installs: a status (`member` | `removed`) with the event that set it,
 * never deleted. With it Herald can start the person's 1:1 chat (their Teams id, the team's
 * serviceUrl) before they ever wrote to the bot.
 * - `changed_at`: when the change happened (the activity's timestamp); an older change, such as
 *   a late redelivery of the add, never undoes a newer one;
 * - lookups by Entra object id or Teams id within a tenant (a users audience), and by team.
 * Times are `timestamptz` on PostgreSQL (as since 018_postgres_types), ISO text on SQLite.
 */
export const m020TeamMembers: Migration = {
  name: "020_team_members",
  async up(db, dialect) {
    const time = dialect === "postgres" ? "timestamptz" : "text";
    await db.schema
      .createTable("team_members")
      .addColumn("team_id", "text", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("aad_object_id", "text")
      .addColumn("user_name", "text")
      .addColumn("service_url", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("status_code", "text", (c) => c.notNull())
      .addColumn("changed_at", time, (c) => c.notNull())
      .addColumn("updated_at", time, (c) => c.notNull())
      .addPrimaryKeyConstraint("team_members_pkey", ["team_id", "user_id"])
      .execute();
    await db.schema.createIndex("team_members_user").on("team_members").columns(["user_id", "tenant_id"]).execute();
    await db.schema.createIndex("team_members_aad").on("team_members").columns(["aad_object_id", "tenant_id"]).execute();
  },
};
