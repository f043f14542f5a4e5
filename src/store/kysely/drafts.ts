import type { Kysely } from "kysely";
import type { Approval, Draft, DraftStatus, DraftStore } from "../../drafts/port.js";
import type { Database, DraftsTable } from "./schema.js";

function toDraft(r: DraftsTable): Draft {
  return {
    id: r.id,
    title: r.title,
    request: JSON.parse(r.request) as Record<string, unknown>,
    status: r.status as DraftStatus,
    createdBy: r.created_by,
    tenants: r.tenants ? (JSON.parse(r.tenants) as string[]) : undefined,
    comment: r.comment ?? undefined,
    notificationId: r.notification_id ?? undefined,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Drafts and approvals over Kysely (SQLite and PostgreSQL alike). */
export class KyselyDraftStore implements DraftStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(d: Draft): Promise<void> {
    await this.db
      .insertInto("drafts")
      .values({
        id: d.id,
        title: d.title,
        request: JSON.stringify(d.request),
        status: d.status,
        created_by: d.createdBy,
        tenants: d.tenants ? JSON.stringify(d.tenants) : null,
        comment: d.comment ?? null,
        notification_id: d.notificationId ?? null,
        created_at: d.createdAt,
        updated_at: d.updatedAt,
      })
      .execute();
  }

  async get(id: string): Promise<Draft | undefined> {
    const row = await this.db.selectFrom("drafts").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toDraft(row);
  }

  async list(filter: { status?: DraftStatus | undefined }): Promise<Draft[]> {
    let q = this.db.selectFrom("drafts").selectAll();
    if (filter.status) q = q.where("status", "=", filter.status);
    const rows = await q.orderBy("updated_at", "desc").orderBy("id", "desc").limit(500).execute();
    return rows.map(toDraft);
  }

  async update(
    id: string,
    from: readonly DraftStatus[],
    change: Partial<Pick<Draft, "title" | "request" | "status" | "comment" | "notificationId" | "updatedAt">>,
  ): Promise<boolean> {
    const set: Partial<DraftsTable> = {};
    if (change.title !== undefined) set.title = change.title;
    if (change.request !== undefined) set.request = JSON.stringify(change.request);
    if (change.status !== undefined) set.status = change.status;
    if ("comment" in change) set.comment = change.comment ?? null;
    if (change.notificationId !== undefined) set.notification_id = change.notificationId;
    if (change.updatedAt !== undefined) set.updated_at = change.updatedAt;
    const r = await this.db
      .updateTable("drafts")
      .set(set)
      .where("id", "=", id)
      .where("status", "in", [...from])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async decide(a: Approval): Promise<void> {
    await this.db
      .insertInto("approvals")
      .values({ draft_id: a.draftId, decision: a.decision, decided_by: a.decidedBy, comment: a.comment ?? null, decided_at: a.decidedAt })
      .execute();
  }

  async history(id: string): Promise<Approval[]> {
    const rows = await this.db.selectFrom("approvals").selectAll().where("draft_id", "=", id).orderBy("seq").execute();
    return rows.map((r) => ({
      draftId: r.draft_id,
      decision: r.decision as Approval["decision"],
      decidedBy: r.decided_by,
      comment: r.comment ?? undefined,
      decidedAt: r.decided_at,
    }));
  }
}
