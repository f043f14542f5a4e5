import type { ExpressionBuilder, Kysely } from "kysely";
import {
  type BatchLiveness,
  type BatchOutcome,
  type BatchRow,
  batchCodes,
  type RecoveredSubmit,
  type RunningOperation,
} from "../../delivery/batch/port.js";
import type { InFlightPolicy } from "../../delivery/model.js";
import { inDoubtNote } from "../../delivery/store/plan.js";
import type { StoreDialect } from "./backend.js";
import { deadOwner, liveSince } from "./delivery-control.js";
import type { AllTables } from "./delivery-schema.js";
import { addToCounters, chunk, endedWith, lockNotifications, rowsPerStatement } from "./delivery-sql.js";

/**
 * Recovery of the batch path's rows (delivery/batch/port.ts): the submits and operations of a
 * process that died are taken over by a live one. Whether an owner is dead is judged exactly as
 * the individual path judges a lease (delivery-control.ts `recover`): no heartbeat in
 * `delivery_workers` since `staleBefore`, on the database's clock with PostgreSQL, read by the
 * statement that moves the rows. Each notification is handled in its own transaction with its
 * row locked first, so two live processes sweeping at once never both take a row: the second
 * waits for the first's commit and then finds the rows owned by a live process.
 */

const iso = (ms: number): string => new Date(ms).toISOString();

type Eb = ExpressionBuilder<AllTables, "deliveries">;

/** The condition "this batch row's owner is gone" (see BatchLiveness). */
function ownerGone(dialect: StoreDialect, live: BatchLiveness) {
  const since = liveSince(dialect, live.staleBefore, live.now);
  const selfLive = live.selfBeatSince === undefined ? undefined : liveSince(dialect, live.selfBeatSince, live.now);
  const dead = deadOwner(live.self, since, live.othersAreDead, selfLive);
  // Rows older than the stale time (an orphan of self's, an unowned row): timestamptz on PostgreSQL, ISO text on SQLite.
  const old = dialect === "postgres" ? since : iso(live.staleBefore);
  const busy = [...live.busy];
  return (eb: Eb) => {
    const ors = [
      dead(eb, eb.ref("deliveries.lease_owner")),
      eb.and([
        eb("lease_owner", "=", live.self),
        eb("updated_at", "<", old as unknown as string),
        ...(busy.length > 0 ? [eb("last_error_message", "not in", busy)] : []),
      ]),
    ];
    if (live.unowned) ors.push(eb.and([eb("lease_owner", "is", null), eb("updated_at", "<", old as unknown as string)]));
    return eb.or(ors);
  };
}

/** Pending batch rows in state `code` whose owner is gone, as (notification, key) pairs. */
async function candidates(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  live: BatchLiveness,
  code: string,
): Promise<{ notification_id: string; key: string }[]> {
  const gone = ownerGone(dialect, live);
  const rows = await db
    .selectFrom("deliveries")
    .select(["notification_id", "last_error_message"])
    // Without `unowned`, only rows with an owner: the partial index deliveries_lease finds them (the sweep runs every heartbeat).
    .$if(!live.unowned, (q) => q.where("lease_owner", "is not", null))
    // With `unowned` (at start): only active notifications' rows (a pending row keeps its
    // notification active), found through notifications_active and deliveries_status rather
    // than a scan of the whole deliveries table, which would delay every start, batch or not.
    .$if(live.unowned, (q) =>
      q.where("notification_id", "in", (eb) =>
        eb.selectFrom("notifications").select("notifications.id").where("notifications.active", "=", 1),
      ),
    )
    .where("queue", "=", "batch")
    .where("status", "=", "pending")
    .where("last_error_code", "=", code)
    .where(gone)
    .groupBy(["notification_id", "last_error_message"])
    .execute();
  return rows.map((r) => ({ notification_id: r.notification_id, key: r.last_error_message ?? "" }));
}

/** See BatchStore.recoverSubmits. */
export async function recoverSubmits(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  live: BatchLiveness,
  policy: InFlightPolicy,
  outcome: BatchOutcome,
): Promise<RecoveredSubmit[]> {
  const found = await candidates(db, dialect, live, batchCodes.submitting);
  const out: RecoveredSubmit[] = [];
  const nowIso = iso(live.now);
  for (const { notification_id: id, key: submitId } of found) {
    const moved = await db.transaction().execute(async (trx) => {
      const recalled = (await lockNotifications(trx, dialect, [id])).get(id)?.canceled === true;
      const q = trx
        .updateTable("deliveries")
        .where("notification_id", "=", id)
        .where("queue", "=", "batch")
        .where("status", "=", "pending")
        .where("last_error_code", "=", batchCodes.submitting)
        .where("last_error_message", "=", submitId)
        .where(ownerGone(dialect, live));
      // Recalled meanwhile: never sent again after the recall; Teams may have started it, so the rows end as under `unknown`.
      if (policy === "resend" && !recalled) {
        const r = await q
          // Teams may have started it: the note makes a recall before it goes again end it unknown, not canceled.
          .set({
            queue: "ready",
            due_at: live.now,
            lease_owner: null,
            last_error_code: outcome.code,
            last_error_message: `${outcome.message} ${inDoubtNote}`,
            updated_at: nowIso,
          })
          .executeTakeFirst();
        return Number(r.numUpdatedRows);
      }
      const r = await q.set(endedWith(outcome, nowIso)).executeTakeFirst();
      const n = Number(r.numUpdatedRows);
      if (n > 0) await addToCounters(trx, id, { pending: -n, [outcome.status]: n }, nowIso);
      return n;
    });
    if (moved > 0) out.push({ notificationId: id, submitId, rows: moved });
  }
  return out;
}

const columns = ["seq", "tenant_id", "kind", "service_url", "conversation_id", "target_id", "user_id", "last_error_message"] as const;

/** See BatchStore.adoptOperations. */
export async function adoptOperations(db: Kysely<AllTables>, dialect: StoreDialect, live: BatchLiveness): Promise<RunningOperation[]> {
  const found = await candidates(db, dialect, live, batchCodes.running);
  const ops = new Map<string, RunningOperation>();
  const nowIso = iso(live.now);
  for (const id of new Set(found.map((f) => f.notification_id))) {
    await db.transaction().execute(async (trx) => {
      await lockNotifications(trx, dialect, [id]);
      // Read under the notification's lock: a process that adopted these rows a moment ago has committed, and they are its now.
      const rows = await trx
        .selectFrom("deliveries")
        .select(columns)
        .where("notification_id", "=", id)
        .where("queue", "=", "batch")
        .where("status", "=", "pending")
        .where("last_error_code", "=", batchCodes.running)
        .where(ownerGone(dialect, live))
        .orderBy("seq")
        .execute();
      for (const part of chunk(
        rows.map((r) => Number(r.seq)),
        rowsPerStatement,
      )) {
        await trx
          .updateTable("deliveries")
          .set({ lease_owner: live.self, lease_id: null, updated_at: nowIso })
          .where("notification_id", "=", id)
          .where("seq", "in", part)
          .execute();
      }
      for (const r of rows) {
        const operationId = r.last_error_message ?? "";
        let op = ops.get(operationId);
        if (!op) {
          op = { notificationId: id, operationId, tenantId: r.tenant_id, serviceUrl: r.service_url ?? undefined, rows: [] };
          ops.set(operationId, op);
        }
        op.rows.push(toRow(r));
      }
    });
  }
  return [...ops.values()];
}

function toRow(r: {
  seq: number | string;
  tenant_id: string;
  kind: string;
  service_url: string | null;
  conversation_id: string | null;
  target_id: string | null;
  user_id: string | null;
}): BatchRow {
  return {
    seq: Number(r.seq),
    tenantId: r.tenant_id,
    kind: r.kind,
    serviceUrl: r.service_url ?? undefined,
    conversationId: r.conversation_id ?? undefined,
    targetId: r.target_id ?? undefined,
    userId: r.user_id ?? undefined,
  };
}
