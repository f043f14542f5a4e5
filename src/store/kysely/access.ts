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
    await this.db
      .insertInto("audit_log")
      .values({ at: e.at, actor: e.actor, action: e.action, target: e.target, details: JSON.stringify(e.details) })
      .execute();
  }

  async list(page: { cursor?: string | undefined; limit: number }): Promise<Page<AuditEntry & { id: number }>> {
    let q = this.db
      .selectFrom("audit_log")
      .selectAll()
      .orderBy("id", "desc")
      .limit(page.limit + 1);
    if (page.cursor) q = q.where("id", "<", decodeCursor(page.cursor));
    const rows = await q.execute();
    const items = rows.slice(0, page.limit).map((r) => ({
      id: Number(r.id),
      at: r.at,
      actor: r.actor,
      action: r.action,
      target: r.target,
      details: JSON.parse(r.details) as Record<string, unknown>,
    }));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > page.limit && last ? encodeCursor(last.id) : undefined };
  }
}
