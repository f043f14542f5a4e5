import { sql } from "kysely";
import type { Migration } from "./migration.js";

/**
 * The claim index holds only rows waiting to be sent. 003's `deliveries_claim` indexed every row
 * by `queue`, so each step of a delivery (claimed, in flight, done) rewrote its index entry; on
 * a broadcast that was a third of the database's work. Partial on `queue = 'ready'`, a row enters
 * it when it becomes ready and leaves it when claimed: the claim query (`queue = 'ready'` as a
 * literal, so SQLite can prove the index applies) reads the same range as before.
 */
export const m005ReadyIndex: Migration = {
  name: "005_ready_index",
  async up(db) {
    await db.schema.dropIndex("deliveries_claim").execute();
    await db.schema
      .createIndex("deliveries_ready")
      .on("deliveries")
      .columns(["notification_id", "tenant_id", "due_at", "seq"])
      .where(sql.ref("queue"), "=", sql.lit("ready"))
      .execute();
  },
};
