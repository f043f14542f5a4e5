import type { Migration } from "./migration.js";

/**
 * The tenants each audit entry concerns, so a tenant-limited admin key reads only entries of its
 * tenants (`GET /v1/audit`). `audit_log.tenants` keeps the set as written (JSON array; null =
 * every tenant, or unknown: only keys without a tenant limit see it); `audit_tenants` holds one row
 * per tenant for the subset filter. Entries written before this migration have null: they stay
 * visible to keys without a tenant limit only.
 */
export const m006AuditTenants: Migration = {
  name: "006_audit_tenants",
  async up(db, dialect) {
    await db.schema.alterTable("audit_log").addColumn("tenants", "text").execute();
    await db.schema
      .createTable("audit_tenants")
      .addColumn("audit_id", dialect === "postgres" ? "bigint" : "integer", (c) => c.notNull())
      .addColumn("tenant_id", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("audit_tenants_pk", ["audit_id", "tenant_id"])
      .execute();
  },
};
