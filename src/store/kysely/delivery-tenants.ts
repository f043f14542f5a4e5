import { type Kysely, sql } from "kysely";
import type { RowError } from "../../delivery/model.js";
import type { TenantPause, TenantState } from "../../delivery/store/port.js";
import type { StoreDialect } from "./backend.js";
import type { AllTables } from "./delivery-schema.js";
import { addToCounters, chunk, lockNotifications, rowsPerStatement } from "./delivery-sql.js";
import { finishIfDone } from "./delivery-work.js";

/** Tenants as operators see them: pauses (BotDisabledByAdmin), the rows they hold, and their end after a timeout. */

const iso = (ms: number): string => new Date(ms).toISOString();

/** `'ready'` as a literal so SQLite uses the partial index `deliveries_ready`. */
const ready = sql.lit("ready");

export async function tenantPauses(db: Kysely<AllTables>): Promise<TenantPause[]> {
  const rows = await db.selectFrom("paused_tenants").selectAll().orderBy("tenant_id").execute();
  return rows.map((r) => ({ tenantId: r.tenant_id, code: r.code, since: r.paused_at }));
}

/**
 * Active notifications created (or scheduled) at or before `beforeIso` that have a row WAITING in
 * `tenantId`: only these are worth a transaction and a lock (the sweep runs at every poll, and
 * most polls find nothing).
 */
async function expirableNotificationsOf(db: Kysely<AllTables>, tenantId: string, beforeIso: string): Promise<string[]> {
  const rows = await db
    .selectFrom("notification_tenants as nt")
    .innerJoin("notifications as n", "n.id", "nt.notification_id")
    .select("n.id")
    .where("nt.tenant_id", "=", tenantId)
    .where("n.active", "=", 1)
    .where((eb) => eb(eb.fn.coalesce("n.scheduled_at", "n.created_at"), "<=", beforeIso))
    .where("n.status", "<>", "scheduled")
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom("deliveries as d")
          .select(sql.lit(1).as("one"))
          .whereRef("d.notification_id", "=", "n.id")
          .where("d.tenant_id", "=", tenantId)
          .where("d.queue", "=", ready),
      ),
    )
    .orderBy("n.id")
    .execute();
  return rows.map((r) => r.id);
}

/** Rows waiting to be sent (or edited, deleted) in a tenant, over its active notifications. */
async function waitingRows(db: Kysely<AllTables>, tenantId: string): Promise<number> {
  const row = await db
    .selectFrom("deliveries as d")
    .innerJoin("notifications as n", "n.id", "d.notification_id")
    .select((eb) => eb.fn.countAll<number | string>().as("n"))
    .where("n.active", "=", 1)
    .where("d.tenant_id", "=", tenantId)
    .where("d.queue", "=", ready)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function tenantStates(
  db: Kysely<AllTables>,
  filter: { tenantIds?: readonly string[] | undefined; disabledOnly?: boolean | undefined },
): Promise<TenantState[]> {
  const wanted = filter.tenantIds === undefined ? undefined : new Set(filter.tenantIds);
  const out = new Map<string, TenantState>();
  if (!filter.disabledOnly && (wanted === undefined || wanted.size > 0)) {
    const parts = wanted === undefined ? [undefined] : chunk([...wanted], rowsPerStatement);
    for (const part of parts) {
      const rows = await db
        .selectFrom("conversations")
        .select(["tenant_id", (eb) => eb.fn.countAll<number | string>().as("n")])
        .where("tenant_id", "<>", "")
        .$if(part !== undefined, (q) => q.where("tenant_id", "in", part ?? []))
        .groupBy("tenant_id")
        .execute();
      for (const r of rows) out.set(r.tenant_id, { tenantId: r.tenant_id, state: "active", conversations: Number(r.n) });
    }
  }
  for (const p of await tenantPauses(db)) {
    if (wanted !== undefined && !wanted.has(p.tenantId)) continue;
    const known = out.get(p.tenantId);
    const conversations =
      known?.conversations ??
      Number(
        (
          await db
            .selectFrom("conversations")
            .select((eb) => eb.fn.countAll<number | string>().as("n"))
            .where("tenant_id", "=", p.tenantId)
            .executeTakeFirstOrThrow()
        ).n,
      );
    out.set(p.tenantId, {
      tenantId: p.tenantId,
      state: "disabled",
      code: p.code,
      since: p.since,
      conversations,
      waiting: await waitingRows(db, p.tenantId),
    });
  }
  return [...out.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : 0));
}

/**
 * End the waiting rows of a paused tenant, one notification per transaction (notification locked
 * first, as every writer does): sends → `failed`, edits → edit failed, deletes → recall failed,
 * with their counters; then finish the notifications that have nothing left. Each transaction
 * first checks that the tenant is STILL paused since at or before `before` (read FOR SHARE on
 * PostgreSQL, so a resume waits for it or it sees the resume): a tenant resumed, or paused again,
 * after the caller read the pauses keeps its rows.
 */
export async function expireTenantRows(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  tenantId: string,
  error: RowError,
  before: number,
  now: number,
): Promise<{ failed: number; finished: string[] }> {
  const nowIso = iso(now);
  let failed = 0;
  const finished: string[] = [];
  const beforeIso = iso(before);
  for (const id of await expirableNotificationsOf(db, tenantId, beforeIso)) {
    const stillPaused = await db.transaction().execute(async (trx) => {
      await lockNotifications(trx, dialect, [id]);
      const pause = await trx
        .selectFrom("paused_tenants")
        .select("tenant_id")
        .where("tenant_id", "=", tenantId)
        .where("paused_at", "<=", beforeIso)
        .$if(dialect === "postgres", (q) => q.forShare())
        .executeTakeFirst();
      if (!pause) return false;
      const end = { op: null, queue: null, due_at: null, lease_owner: null, updated_at: nowIso };
      const waiting = (op: string) =>
        trx
          .updateTable("deliveries")
          .where("notification_id", "=", id)
          .where("tenant_id", "=", tenantId)
          .where("queue", "=", ready)
          .where("op", "=", op);
      const sends = await waiting("send")
        .set({ ...end, status: "failed", last_error_code: error.code, last_error_message: error.message })
        .executeTakeFirst();
      const edits = await waiting("edit")
        .set({ ...end, last_error_code: error.code, last_error_message: error.message })
        .executeTakeFirst();
      const deletes = await waiting("delete")
        .set({ ...end, recall_state: "failed", last_error_code: error.code, last_error_message: error.message })
        .executeTakeFirst();
      const s = Number(sends.numUpdatedRows);
      const e = Number(edits.numUpdatedRows);
      const d = Number(deletes.numUpdatedRows);
      failed += s;
      await addToCounters(trx, id, { pending: -s, failed: s, editPending: -e, editFailed: e, recallPending: -d, recallFailed: d }, nowIso);
      finished.push(...(await finishIfDone(trx, [id], now)));
      return true;
    });
    if (!stillPaused) break;
  }
  return { failed, finished };
}
