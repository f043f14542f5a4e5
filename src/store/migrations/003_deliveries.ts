import { type CreateTableBuilder, sql } from "kysely";
import type { Migration } from "./migration.js";

/**
 * Notifications and their per-recipient deliveries (the delivery engine; see
 * docs/design/delivery.md and ../kysely/delivery-schema.ts for the columns).
 *
 * Indexes follow the queries, for a million deliveries per notification:
 * - `deliveries_claim (notification_id, tenant_id, queue, due_at, seq)`: a lane claims the ready
 *   rows of one notification in one tenant, oldest due first: an index range, no sort. (005
 *   replaces it with the partial `deliveries_ready`.)
 * - `deliveries_status (notification_id, status, seq)`: `/deliveries?status=` pages by keyset.
 * - `deliveries_recipient` (unique): a recipient listed twice, or a page re-read after a crash,
 *   gets one row.
 * - `deliveries_lease (lease_owner)` partial on leased rows: crash recovery finds a dead worker's
 *   rows (a few hundred at most) without scanning the table.
 * - `notifications_active (active)`: the dispatcher's directory of notifications with work.
 * Counters live on `notifications`, updated in the transactions that move rows, so no request
 * counts rows.
 */
export const m003Deliveries: Migration = {
  name: "003_deliveries",
  async up(db, dialect) {
    const big = dialect === "postgres" ? "bigint" : "integer";
    let notifications: CreateTableBuilder<string, string> = db.schema
      .createTable("notifications")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("created_by", "text", (c) => c.notNull())
      .addColumn("idempotency_key", "text")
      .addColumn("request_hash", "text", (c) => c.notNull())
      .addColumn("tenant_id", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("active", "integer", (c) => c.notNull().defaultTo(1))
      .addColumn("audience", "text", (c) => c.notNull())
      .addColumn("message", "text", (c) => c.notNull())
      .addColumn("message_version", "integer", (c) => c.notNull().defaultTo(1))
      .addColumn("data", "text")
      .addColumn("category", "text")
      .addColumn("created_at", "text", (c) => c.notNull())
      .addColumn("scheduled_at", "text")
      .addColumn("started_at", "text")
      .addColumn("completed_at", "text")
      .addColumn("canceled_at", "text")
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addColumn("expansion_done", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("expansion_cursor", "text")
      .addColumn("expansion_owner", "text")
      .addColumn("next_seq", big, (c) => c.notNull().defaultTo(0));
    for (const name of [
      "total",
      "pending",
      "sent",
      "failed",
      "blocked",
      "not_found",
      "opted_out",
      "canceled",
      "unknown",
      "edit_pending",
      "edit_done",
      "edit_failed",
      "recall_pending",
      "recall_done",
      "recall_failed",
    ]) {
      notifications = notifications.addColumn(name, big, (c) => c.notNull().defaultTo(0));
    }
    await notifications.execute();
    await db.schema
      .createIndex("notifications_idempotency")
      .on("notifications")
      .columns(["created_by", "idempotency_key"])
      .unique()
      .execute();
    await db.schema.createIndex("notifications_active").on("notifications").columns(["active", "id"]).execute();
    await db.schema.createIndex("notifications_status").on("notifications").columns(["status", "id"]).execute();

    await db.schema
      .createTable("deliveries")
      .addColumn("notification_id", "text", (c) => c.notNull())
      .addColumn("seq", big, (c) => c.notNull())
      .addColumn("recipient_key", "text", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addColumn("conversation_id", "text")
      .addColumn("service_url", "text")
      .addColumn("target_id", "text")
      .addColumn("user_id", "text")
      .addColumn("user_name", "text")
      .addColumn("user_aad_object_id", "text")
      .addColumn("given_name", "text")
      .addColumn("surname", "text")
      .addColumn("locale", "text")
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("op", "text")
      .addColumn("queue", "text")
      .addColumn("due_at", big)
      .addColumn("lease_owner", "text")
      .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("first_attempt_at", big)
      .addColumn("activity_id", "text")
      .addColumn("applied_version", "integer")
      .addColumn("recall_state", "text")
      .addColumn("last_error_code", "text")
      .addColumn("last_error_message", "text")
      .addColumn("sent_at", "text")
      .addColumn("updated_at", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("deliveries_pkey", ["notification_id", "seq"])
      .execute();
    await db.schema.createIndex("deliveries_recipient").on("deliveries").columns(["notification_id", "recipient_key"]).unique().execute();
    await db.schema
      .createIndex("deliveries_claim")
      .on("deliveries")
      .columns(["notification_id", "tenant_id", "queue", "due_at", "seq"])
      .execute();
    await db.schema.createIndex("deliveries_status").on("deliveries").columns(["notification_id", "status", "seq"]).execute();
    await db.schema
      .createIndex("deliveries_lease")
      .on("deliveries")
      .column("lease_owner")
      .where(sql.ref("lease_owner"), "is not", null)
      .execute();

    await db.schema
      .createTable("notification_tenants")
      .addColumn("notification_id", "text", (c) => c.notNull())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("notification_tenants_pkey", ["notification_id", "tenant_id"])
      .execute();

    await db.schema
      .createTable("delivery_workers")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("started_at", "text", (c) => c.notNull())
      .addColumn("heartbeat_at", big, (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("paused_tenants")
      .addColumn("tenant_id", "text", (c) => c.primaryKey())
      .addColumn("code", "text", (c) => c.notNull())
      .addColumn("paused_at", "text", (c) => c.notNull())
      .execute();
  },
};
