import type { Migration } from "./migration.js";

/**
 * Team and group guardrails of API keys (issue 12): `api_keys.team_limit` and
 * `api_keys.group_limit`, JSON arrays of the Teams team ids and Entra group ids a key may reach;
 * both null (every existing key) = no team/group limit, only its tenants. Nullable columns with
 * no default: the same ALTER on SQLite and PostgreSQL, and instant on both.
 */
export const m017KeyAudiences: Migration = {
  name: "017_key_audiences",
  async up(db) {
    await db.schema.alterTable("api_keys").addColumn("team_limit", "text").execute();
    await db.schema.alterTable("api_keys").addColumn("group_limit", "text").execute();
  },
};
