import type { Migration } from "./migration.js";

/**
 * Saved templates (issue 12): messages authors start new notifications from.
 *
 * - `templates`: one row per template. `message` is the `message` of `POST /v1/notifications` as
 *   JSON; `options` the request's other send options (`priority`, `footer`, `data`) as JSON;
 *   `name_key` the lower-cased name, so listings sort alike on both databases; `tenants` the
 *   creator key's tenant limit as a JSON array (null = every tenant), so a tenant-limited key
 *   never reads another tenant's template.
 */
export const m016Templates: Migration = {
  name: "016_templates",
  async up(db) {
    await db.schema
      .createTable("templates")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("name_key", "text", (c) => c.notNull())
      .addColumn("description", "text")
      .addColumn("message", "text", (c) => c.notNull())
      .addColumn("category", "text")
      .addColumn("options", "text", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("tenants", "text")
      .addColumn("updated_by", "text", (c) => c.notNull())
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("templates_name").on("templates").columns(["name_key", "id"]).execute();
  },
};
