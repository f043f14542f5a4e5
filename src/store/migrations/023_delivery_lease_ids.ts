import { sql } from "kysely";
import type { Migration } from "./migration.js";

/**
 * A claim's own number on the rows it leases (`deliveries.lease_id`), a fencing token: every
 * write of a dispatcher job (in-flight mark, result, release) names the lease it came from and
 * applies only while the row still holds that lease, not merely the same process.
 *
 * `lease_owner` alone let a write land on a later lease of the same row. A batched write whose
 * COMMIT went through but whose answer was lost is written again; meanwhile the same process may
 * have claimed, marked and sent the row anew (a release took effect), or leased it for an edit (a
 * send's result took effect). The replay then released a row in flight (sent twice) or ended an
 * edit as a send (counters off, the notification never completed).
 *
 * The dispatcher's claim sets it to a number this process has not used (a counter; owners are
 * unique per process run). A claim of the batch path sets it to null: those rows are written by
 * their submit id, never by a lease. Null otherwise; it is not cleared when a lease ends (a row
 * without `lease_owner` matches no guard). Nullable with no default: instant on PostgreSQL
 * (no table rewrite) and SQLite.
 */
export const m023DeliveryLeaseIds: Migration = {
  name: "023_delivery_lease_ids",
  async up(db, dialect) {
    // The ALTER takes the table's exclusive lock for an instant, but waits for it behind any long
    // transaction on `deliveries` (a report, pg_dump), and every claim and result of every process
    // would queue behind it: give up after 10 s instead (the start fails with the error; start again).
    if (dialect === "postgres") await sql`set local lock_timeout = '10s'`.execute(db);
    await db.schema.alterTable("deliveries").addColumn("lease_id", "bigint").execute();
    if (dialect === "postgres") await sql`set local lock_timeout to default`.execute(db);
  },
};
