import { type Expression, type ExpressionBuilder, type Kysely, sql } from "kysely";
import type { InFlightPolicy, RecoveryResult } from "../../delivery/model.js";
import { inDoubtNote } from "../../delivery/store/plan.js";
import type { EditOutcome } from "../../delivery/store/port.js";
import type { StoreDialect } from "./backend.js";
import { rowToNotification } from "./delivery-rows.js";
import type { AllTables } from "./delivery-schema.js";
import { addToCounters, lockNotifications } from "./delivery-sql.js";

/** Edits, recalls, tenant pauses and the workers' liveness and crash recovery. */

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * New message version; every sent copy with an activity id is queued for an update. Copies
 * being edited right now (claimed) keep their lease: their result comes back stale and is queued
 * again (see plan.ts). `edit.pending` restarts at the number of copies to update.
 */
export async function requestEdit(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  id: string,
  message: unknown,
  now: number,
): Promise<EditOutcome> {
  const nowIso = iso(now);
  return db.transaction().execute(async (trx) => {
    const state = (await lockNotifications(trx, dialect, [id])).get(id);
    if (!state) return { ok: false, reason: "notFound" } as const;
    if (state.canceled) return { ok: false, reason: "canceled" } as const;
    const queued = await trx
      .updateTable("deliveries")
      .set({ op: "edit", queue: "ready", due_at: now, attempts: 0, first_attempt_at: null, lease_owner: null, updated_at: nowIso })
      .where("notification_id", "=", id)
      .where("status", "=", "sent")
      .where("activity_id", "is not", null)
      .where((eb) => eb.or([eb("queue", "is", null), eb("queue", "=", "ready")]))
      .executeTakeFirst();
    const busy = await trx
      .selectFrom("deliveries")
      .select((eb) => eb.fn.countAll<number | string>().as("n"))
      .where("notification_id", "=", id)
      .where("status", "=", "sent")
      .where("queue", "=", "claimed")
      .executeTakeFirstOrThrow();
    const pending = Number(queued.numUpdatedRows) + Number(busy.n);
    await trx
      .updateTable("notifications")
      .set((eb) => ({
        message: JSON.stringify(message),
        message_version: eb("message_version", "+", 1),
        edit_pending: pending,
        edit_done: 0,
        edit_failed: 0,
        active: 1,
        updated_at: nowIso,
      }))
      .where("id", "=", id)
      .execute();
    const row = await trx.selectFrom("notifications").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    return { ok: true, notification: rowToNotification(row) } as const;
  });
}

/** A row Teams may have received, ended `unknown` (HERALD_E_IN_FLIGHT with `message`): off every queue, no lease, no attempt counted. */
const endedInDoubt = (message: string, nowIso: string) => ({
  status: "unknown",
  op: null,
  queue: null,
  due_at: null,
  lease_owner: null,
  last_error_code: "HERALD_E_IN_FLIGHT",
  last_error_message: message,
  updated_at: nowIso,
});

/**
 * Recall: rows not yet sent (ready or claimed, not in flight) become `canceled`; every sent copy
 * with an activity id is queued for a delete (taking over copies being edited); the expansion
 * stops; the notification is `canceled`. Sends in flight finish and are then deleted (plan.ts).
 * Recalling twice changes nothing more.
 */
export async function requestRecall(db: Kysely<AllTables>, dialect: StoreDialect, id: string, now: number) {
  const nowIso = iso(now);
  return db.transaction().execute(async (trx) => {
    const state = (await lockNotifications(trx, dialect, [id])).get(id);
    if (!state) return undefined;
    if (!state.canceled) {
      // A send waiting for its retry whose last request may have reached Teams is not sent again,
      // but Teams may have it (no activity id: the recall cannot delete it): unknown, not canceled.
      const doubtful = await trx
        .updateTable("deliveries")
        .set(endedInDoubt(inFlightRecalledWaiting, nowIso))
        .where("notification_id", "=", id)
        .where("status", "=", "pending")
        .where("queue", "in", ["ready", "claimed"])
        .where("last_error_message", "like", `%${inDoubtNote}`)
        .executeTakeFirst();
      const doubts = Number(doubtful.numUpdatedRows);
      if (doubts > 0) await addToCounters(trx, id, { pending: -doubts, unknown: doubts }, nowIso);
      const canceled = await trx
        .updateTable("deliveries")
        .set({ status: "canceled", op: null, queue: null, due_at: null, lease_owner: null, updated_at: nowIso })
        .where("notification_id", "=", id)
        .where("status", "=", "pending")
        .where("queue", "in", ["ready", "claimed"])
        .executeTakeFirst();
      const deletes = await trx
        .updateTable("deliveries")
        .set({
          op: "delete",
          queue: "ready",
          due_at: now,
          attempts: 0,
          first_attempt_at: null,
          lease_owner: null,
          recall_state: "pending",
          updated_at: nowIso,
        })
        .where("notification_id", "=", id)
        .where("status", "=", "sent")
        .where("activity_id", "is not", null)
        .executeTakeFirst();
      const n = Number(canceled.numUpdatedRows);
      await addToCounters(trx, id, { pending: -n, canceled: n }, nowIso);
      await trx
        .updateTable("notifications")
        .set({
          status: "canceled",
          canceled_at: nowIso,
          active: 1,
          expansion_done: 1,
          expansion_owner: null,
          recall_pending: Number(deletes.numUpdatedRows),
          recall_done: 0,
          recall_failed: 0,
          edit_pending: 0,
          updated_at: nowIso,
        })
        .where("id", "=", id)
        .execute();
    }
    const row = await trx.selectFrom("notifications").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    return rowToNotification(row);
  });
}

export async function pauseTenant(db: Kysely<AllTables>, tenantId: string, code: string, now: number): Promise<void> {
  await db
    .insertInto("paused_tenants")
    .values({ tenant_id: tenantId, code, paused_at: iso(now) })
    .onConflict((oc) => oc.column("tenant_id").doNothing())
    .execute();
}

export async function resumeTenant(db: Kysely<AllTables>, tenantId: string): Promise<boolean> {
  const r = await db.deleteFrom("paused_tenants").where("tenant_id", "=", tenantId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function pausedTenants(db: Kysely<AllTables>): Promise<string[]> {
  return (await db.selectFrom("paused_tenants").select("tenant_id").execute()).map((r) => r.tenant_id);
}

/**
 * Register or renew `owner`'s heartbeat. On PostgreSQL (shared by several processes) the time
 * written is the database's `now()`, whatever `now` the process passes: leases are judged on the
 * one clock every process shares (see `liveSince`). SQLite (one process) writes `now`.
 */
export async function heartbeat(db: Kysely<AllTables>, dialect: StoreDialect, owner: string, now: number): Promise<void> {
  const at = dialect === "postgres" ? sql<number>`now()` : now;
  await db
    .insertInto("delivery_workers")
    .values({ id: owner, started_at: dialect === "postgres" ? sql<string>`now()` : iso(now), heartbeat_at: at })
    .onConflict((oc) => oc.column("id").doUpdateSet({ heartbeat_at: at }))
    .execute();
}

/**
 * The oldest heartbeat of a live worker, for a WHERE clause: `staleBefore` on SQLite; on
 * PostgreSQL the database's `now()` minus the stale time (`now - staleBefore`), so a process
 * whose clock is ahead or behind (or stepped since it last measured the database's) judges
 * leases exactly as every other process does.
 */
export function liveSince(dialect: StoreDialect, staleBefore: number, now: number) {
  return dialect === "postgres"
    ? sql<number>`now() - cast(${Math.max(0, now - staleBefore)} as double precision) * interval '1 millisecond'`
    : staleBefore;
}

const inFlightRecalledWaiting =
  "The notification was recalled while this send waited for its retry, after a request Teams may have received (no usable answer came): it is not sent again. Without an activity id the recall cannot delete that copy.";
const inFlight = "The process sending this message stopped while the request was in flight; Teams may or may not have received it.";
const inFlightRecalled =
  "The process sending this message stopped while the request was in flight, and the notification was recalled meanwhile: it is not sent again. Teams may or may not have received it; without an activity id the recall cannot delete that copy.";

/**
 * Give back the work of dead workers, one notification per transaction (notification locked
 * first, as every writer does): claimed rows → ready; in-flight sends → `unknown` (or ready with
 * `resend`, unless the notification was recalled: then `unknown` too); their expansions → free to
 * take. Then forget the dead workers.
 *
 * Whether an owner is dead is decided inside each UPDATE/DELETE statement (no heartbeat at or
 * after `staleBefore` in `delivery_workers`), never from a list read earlier: a worker that
 * registers and claims rows while a recovery runs would not be on such a list, and its live rows
 * would be taken (test/scale/recovery-race.test.ts). Several processes may recover at once: the
 * notification's row lock orders them, and the second finds nothing left to move.
 */
export async function recover(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  self: string,
  staleBefore: number,
  policy: InFlightPolicy,
  now: number,
  othersAreDead: boolean,
  selfBeatSince?: number,
): Promise<RecoveryResult> {
  const nowIso = iso(now);
  const live = liveSince(dialect, staleBefore, now);
  const selfLive = selfBeatSince === undefined ? undefined : liveSince(dialect, selfBeatSince, now);
  const dead = deadOwner(self, live, othersAreDead, selfLive);
  const leased = await db
    .selectFrom("deliveries")
    .select(["notification_id"])
    .where((eb) => dead(eb, eb.ref("deliveries.lease_owner")))
    .groupBy("notification_id")
    .execute();
  const result: RecoveryResult = { released: 0, unknown: 0, requeued: 0 };
  for (const { notification_id: id } of leased) {
    await db.transaction().execute(async (trx) => {
      const recalled = (await lockNotifications(trx, dialect, [id])).get(id)?.canceled === true;
      // Recalled meanwhile: never sent again after the recall (read under the lock a recall takes);
      // Teams may have received it, so the row ends as under `unknown`.
      const resend = policy === "resend" && !recalled;
      const inflight = await trx
        .updateTable("deliveries")
        .set(
          resend
            ? // Teams may have it: a recall before it goes again ends it unknown (requestRecall finds the note).
              {
                queue: "ready",
                due_at: now,
                lease_owner: null,
                last_error_code: "HERALD_E_IN_FLIGHT",
                last_error_message: `${inFlight} ${inDoubtNote}`,
                updated_at: nowIso,
              }
            : endedInDoubt(recalled ? inFlightRecalled : inFlight, nowIso),
        )
        .where("notification_id", "=", id)
        .where("queue", "=", "inflight")
        .where((eb) => dead(eb, eb.ref("deliveries.lease_owner")))
        .executeTakeFirst();
      const claimed = await trx
        .updateTable("deliveries")
        .set({ queue: "ready", lease_owner: null, updated_at: nowIso })
        .where("notification_id", "=", id)
        .where("queue", "=", "claimed")
        .where((eb) => dead(eb, eb.ref("deliveries.lease_owner")))
        .executeTakeFirst();
      const n = Number(inflight.numUpdatedRows);
      if (resend) result.requeued += n;
      else {
        result.unknown += n;
        await addToCounters(trx, id, { pending: -n, unknown: n }, nowIso);
      }
      result.released += Number(claimed.numUpdatedRows);
    });
  }
  await db
    .updateTable("notifications")
    .set({ expansion_owner: null, updated_at: nowIso })
    .where((eb) => dead(eb, eb.ref("notifications.expansion_owner")))
    .execute();
  // Only workers whose own row is stale: a worker that beat after this recovery began stays.
  await db
    .deleteFrom("delivery_workers")
    .where("id", "<>", self)
    .$if(!othersAreDead, (q) => q.where("heartbeat_at", "<", live))
    .$if(!othersAreDead && selfLive !== undefined, (q) => q.where((eb) => selfBeatFresh(eb, self, selfLive!)))
    .execute();
  return result;
}

/**
 * The condition "`owner` names a dead worker", for a WHERE clause: set, not `self`, and (unless
 * every other worker is dead by definition, a store one process owns) without a heartbeat at or
 * after `live` (`liveSince`), read by the same statement that moves the rows; with `selfLive`,
 * only while `self` has a heartbeat at or after that time (see DeliveryStore.recover).
 */
export function deadOwner(
  self: string,
  live: ReturnType<typeof liveSince>,
  othersAreDead: boolean,
  selfLive?: ReturnType<typeof liveSince>,
) {
  return (eb: ExpressionBuilder<AllTables, "deliveries" | "notifications">, owner: Expression<string | null>) => {
    const conditions = [eb(owner, "is not", null), eb(owner, "<>", self)];
    if (!othersAreDead) {
      conditions.push(
        eb.not(
          eb.exists(
            eb
              .selectFrom("delivery_workers as w")
              .select(sql.lit(1).as("one"))
              .where("w.id", "=", owner)
              .where("w.heartbeat_at", ">=", live),
          ),
        ),
      );
      if (selfLive !== undefined) conditions.push(selfBeatFresh(eb, self, selfLive));
    }
    return eb.and(conditions);
  };
}

/** The condition "`self` has a heartbeat at or after `since`" (`liveSince`), read by the statement it guards. */
function selfBeatFresh(
  eb: ExpressionBuilder<AllTables, "deliveries" | "notifications" | "delivery_workers">,
  self: string,
  since: ReturnType<typeof liveSince>,
) {
  return eb.exists(
    eb.selectFrom("delivery_workers as me").select(sql.lit(1).as("one")).where("me.id", "=", self).where("me.heartbeat_at", ">=", since),
  );
}

/** Graceful stop: claimed rows back to ready, expansions released, the worker forgotten (unless `keepWorker`). */
export async function retire(db: Kysely<AllTables>, owner: string, now: number, keepWorker = false): Promise<void> {
  const nowIso = iso(now);
  await db
    .updateTable("deliveries")
    .set({ queue: "ready", lease_owner: null, updated_at: nowIso })
    .where("lease_owner", "=", owner)
    .where("queue", "=", "claimed")
    .execute();
  await db.updateTable("notifications").set({ expansion_owner: null, updated_at: nowIso }).where("expansion_owner", "=", owner).execute();
  if (!keepWorker) await db.deleteFrom("delivery_workers").where("id", "=", owner).execute();
}
