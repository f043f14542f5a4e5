import type { Migration } from "./migration.js";

/** Users' notification preferences, one row per (tenant, Teams user id). */
export const m002Preferences: Migration = {
  name: "002_preferences",
  async up(db) {
    await db.schema
      .createTable("preferences")
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("user_id", "text", (c) => c.notNull())
      .addColumn("opted_out", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("opted_out_categories", "text", (c) => c.notNull().defaultTo("[]"))
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("preferences_pkey", ["tenant_id", "user_id"])
      .execute();
  },
};
