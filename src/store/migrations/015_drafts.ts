import type { Migration } from "./migration.js";

/**
 * Drafts and their approvals (issue 12): an author drafts a notification request and submits
 * it; an approver approves it (it is then sent, or waits for its schedule) or sends it back
 * with a comment.
 *
 * - `drafts`: one row per draft. `request` is the `POST /v1/notifications` body as JSON;
 *   `tenants` the author key's tenant limit as a JSON array (null = every tenant), kept so the
 *   approved send never reaches further than its author could; `status` is
 *   `draft|submitted|returned|approved`; `notification_id` is set once approved.
 * - `approvals`: every decision (`approved` or `returned`), who made it, when, and the comment.
 */
export const m015Drafts: Migration = {
  name: "015_drafts",
  async up(db, dialect) {
    const seq = dialect === "postgres" ? "bigserial" : "integer";
    await db.schema
      .createTable("drafts")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("title", "text", (c) => c.notNull())
      .addColumn("request", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("tenants", "text")
      .addColumn("comment", "text")
      .addColumn("notification_id", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("updated_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("drafts_updated").on("drafts").columns(["updated_at", "id"]).execute();
    await db.schema
      .createTable("approvals")
      .addColumn("seq", seq, (c) => (dialect === "postgres" ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn("draft_id", "text", (c) => c.notNull())
      .addColumn("decision", "text", (c) => c.notNull())
      .addColumn("decided_by", "text", (c) => c.notNull())
      .addColumn("comment", "text")
      .addColumn("decided_at", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("approvals_draft").on("approvals").columns(["draft_id", "seq"]).execute();
  },
};
