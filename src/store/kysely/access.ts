import type { Generated, Kysely } from "kysely";
import type { ApiKeyRecord, ApiKeyStore, AuditEntry, AuditLog, Page } from "../ports.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import type { Database } from "./schema.js";

export type AccessTables = {
  api_keys: {
    id: string;
    name: string;
    hash: string;
    /** JSON array. */
    scopes: string;
    /** JSON array or null (every tenant). */
    tenants: string | null;
    /** JSON array or null: the teams the key may reach (016; null with group_limit null = no limit). */
    team_limit: string | null;
    /** JSON array or null: the Entra groups the key may reach (016). */
    group_limit: string | null;
    created_at: string;
    created_by: string;
    revoked_at: string | null;
  };
  audit_log: {
    id: Generated<number>;
    at: string;
    actor: string;
    action: string;
    target: string;
    /** JSON object. */
    details: string;
    /** JSON array of the tenants the entry concerns; null = every tenant or unknown (006). */
    tenants: string | null;
  };
  /** One row per tenant of an audit entry, for the subset filter of tenant-limited readers (006). */
  audit_tenants: {
    audit_id: number | string;
    tenant_id: string;
  };
};

type Db = Kysely<Database & AccessTables>;

function toRecord(row: AccessTables["api_keys"]): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    hash: row.hash,
    scopes: JSON.parse(row.scopes) as ApiKeyRecord["scopes"],
    tenants: row.tenants ? (JSON.parse(row.tenants) as string[]) : undefined,
    teams: row.team_limit ? (JSON.parse(row.team_limit) as string[]) : undefined,
    groups: row.group_limit ? (JSON.parse(row.group_limit) as string[]) : undefined,
    createdAt: row.created_at,
    createdBy: row.created_by,
    revokedAt: row.revoked_at ?? undefined,
  };
}

export class KyselyApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: Db) {}

  async create(k: ApiKeyRecord): Promise<void> {
    await this.db
      .insertInto("api_keys")
      .values({
        id: k.id,
        name: k.name,
        hash: k.hash,
        scopes: JSON.stringify(k.scopes),
        tenants: k.tenants ? JSON.stringify(k.tenants) : null,
        team_limit: k.teams ? JSON.stringify(k.teams) : null,
        group_limit: k.groups ? JSON.stringify(k.groups) : null,
        created_at: k.createdAt,
        created_by: k.createdBy,
        revoked_at: k.revokedAt ?? null,
      })
      .execute();
  }

  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.db.selectFrom("api_keys").selectAll().orderBy("created_at", "desc").orderBy("id", "desc").execute();
    return rows.map(toRecord);
  }

  async findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.selectFrom("api_keys").selectAll().where("hash", "=", hash).executeTakeFirst();
    return row && toRecord(row);
  }

  async revoke(id: string, at: string): Promise<boolean> {
    const found = await this.db.selectFrom("api_keys").select("id").where("id", "=", id).executeTakeFirst();
    if (!found) return false;
    await this.db.updateTable("api_keys").set({ revoked_at: at }).where("id", "=", id).where("revoked_at", "is", null).execute();
    return true;
  }
}

export class KyselyAuditLog implements AuditLog {
  constructor(private readonly db: Db) {}

  async record(e: AuditEntry): Promise<void> {
    const tenants = e.tenants ? [...new Set(e.tenants)] : undefined;
    await this.db.transaction().execute(async (trx) => {
      const row = await trx
        .insertInto("audit_log")
        .values({
          at: e.at,
          actor: e.actor,
          action: e.action,
          target: e.target,
          details: JSON.stringify(e.details),
          tenants: tenants ? JSON.stringify(tenants) : null,
        })
        .returning("id")
        .executeTakeFirstOrThrow();
      if (tenants && tenants.length > 0) {
        await trx
          .insertInto("audit_tenants")
          .values(tenants.map((t) => ({ audit_id: row.id, tenant_id: t })))
          .execute();
      }
    });
  }

  async list(page: {
    cursor?: string | undefined;
    limit: number;
    tenants?: readonly string[] | undefined;
  }): Promise<Page<AuditEntry & { id: number }>> {
    let q = this.db
      .selectFrom("audit_log")
      .selectAll()
      .orderBy("id", "desc")
      .limit(page.limit + 1);
    if (page.cursor) q = q.where("id", "<", decodeCursor(page.cursor));
    const tenants = page.tenants;
    if (tenants) {
      // Known tenant set (at least one row) and none of its tenants outside the reader's.
      q = q
        .where(({ exists, selectFrom }) =>
          exists(selectFrom("audit_tenants").select("audit_tenants.audit_id").whereRef("audit_tenants.audit_id", "=", "audit_log.id")),
        )
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom("audit_tenants")
                .select("audit_tenants.audit_id")
                .whereRef("audit_tenants.audit_id", "=", "audit_log.id")
                .where("audit_tenants.tenant_id", "not in", tenants.length > 0 ? [...tenants] : [""]),
            ),
          ),
        );
    }
    const rows = await q.execute();
    const items = rows.slice(0, page.limit).map((r) => ({
      id: Number(r.id),
      at: r.at,
      actor: r.actor,
      action: r.action,
      target: r.target,
      details: JSON.parse(r.details) as Record<string, unknown>,
      tenants: r.tenants ? (JSON.parse(r.tenants) as string[]) : undefined,
    }));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > page.limit && last ? encodeCursor(last.id) : undefined };
  }
}
