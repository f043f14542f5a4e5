import { CompiledQuery, type Kysely, sql } from "kysely";
import { type Job, type JobResult, type LeasedKey, leasedKeyString } from "../../delivery/model.js";
import { type NotificationState, type OutcomeResult, planResults, sumDeltas } from "../../delivery/store/plan.js";
import type { ActiveNotification, WorkBatch, WorkBatchResult } from "../../delivery/store/port.js";
import type { StoreDialect } from "./backend.js";
import { applyHolds, type HoldSettings } from "./delivery-holds.js";
import { type JobRow, jobColumns, rowToJob } from "./delivery-rows.js";
import type { AllTables } from "./delivery-schema.js";
import {
  addToCounters,
  addToCountersReturning,
  chunk,
  type LockedNotifications,
  lockNotifications,
  rowsPerStatement,
  statementJournalFree,
  updateRows,
  updateRowsCounting,
} from "./delivery-sql.js";

/** The dispatcher's side of the delivery store: directory, claims, in-flight marks, results. */

const iso = (ms: number): string => new Date(ms).toISOString();

/** `'ready'` as a literal, not a parameter: SQLite uses the partial index `deliveries_ready` only when it can see the value. */
const ready = sql.lit("ready");

export async function activeWork(db: Kysely<AllTables>, now: number): Promise<ActiveNotification[]> {
  const nowIso = iso(now);
  await db
    .updateTable("notifications")
    .set({ status: "queued", updated_at: nowIso })
    .where("status", "=", "scheduled")
    .where("scheduled_at", "<=", nowIso)
    .execute();
  const rows = await db
    .selectFrom("notifications")
    .select(["id", "status", "message_version", "expansion_done", "expansion_owner"])
    .where("active", "=", 1)
    .where("status", "<>", "scheduled")
    .orderBy("id")
    .execute();
  const tenants = new Map<string, string[]>();
  for (const part of chunk(
    rows.map((r) => r.id),
    rowsPerStatement,
  )) {
    const found = await db
      .selectFrom("notification_tenants")
      .select(["notification_id", "tenant_id"])
      .where("notification_id", "in", part)
      .execute();
    for (const t of found) {
      const list = tenants.get(t.notification_id) ?? [];
      list.push(t.tenant_id);
      tenants.set(t.notification_id, list);
    }
  }
  return rows.map((r) => ({
    id: r.id,
    status: r.status as ActiveNotification["status"],
    messageVersion: Number(r.message_version),
    expansionDone: Number(r.expansion_done) === 1,
    expansionOwner: r.expansion_owner ?? undefined,
    tenants: tenants.get(r.id) ?? [],
  }));
}

export async function claimExpansion(
  db: Kysely<AllTables>,
  id: string,
  owner: string,
  now: number,
): Promise<{ cursor: unknown } | undefined> {
  const row = await db
    .updateTable("notifications")
    .set({ expansion_owner: owner, updated_at: iso(now) })
    .where("id", "=", id)
    .where("expansion_done", "=", 0)
    .where("canceled_at", "is", null)
    .where((eb) => eb.or([eb("expansion_owner", "is", null), eb("expansion_owner", "=", owner)]))
    .returning(["expansion_cursor"])
    .executeTakeFirst();
  if (!row) return undefined;
  return { cursor: row.expansion_cursor === null ? undefined : (JSON.parse(row.expansion_cursor) as unknown) };
}

export async function claim(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  owner: string,
  lease: number,
  notificationId: string,
  tenantId: string,
  now: number,
  limit: number,
  holds: HoldSettings = {},
): Promise<Job[]> {
  const rows = await claimRows(db, dialect, owner, lease, notificationId, tenantId, now, limit);
  if (rows.length > 0) {
    await db
      .updateTable("notifications")
      .set({ status: "sending", started_at: iso(now), updated_at: iso(now) })
      .where("id", "=", notificationId)
      .where("status", "=", "queued")
      .execute();
  }
  // Quiet hours, working days, frequency cap (delivery-holds.ts): held rows go back to the pool.
  const { kept, optedOut } = await applyHolds(db, dialect, owner, rows, notificationId, tenantId, now, holds);
  // Every row left may have ended optedOut: nobody else would finish the notification.
  if (optedOut > 0 && kept.length === 0) await finishIfDone(db, [notificationId], now);
  const jobs = kept.map(rowToJob);
  const due = new Map(rows.map((r) => [Number(r.seq), Number(r.due_at)]));
  return jobs.sort((a, b) => (due.get(a.seq) ?? 0) - (due.get(b.seq) ?? 0) || a.seq - b.seq);
}

/**
 * Ready rows of one notification in one tenant, due by `now`, oldest due first, up to `limit`:
 * → `claimed` by `owner` under `lease`; returns them (jobColumns). Statement text rather than Kysely's
 * builder, prepared once per dialect: it runs for every batch a lane sends.
 *
 * The rows are picked in a MATERIALIZED CTE, evaluated once. As a plain `IN (subquery)`,
 * PostgreSQL may re-run the locking subquery while updating and, re-checking rows this very
 * statement just claimed, pick the next ones too: the LIMIT would not hold. `'ready'` is a
 * literal so that SQLite uses the partial index `deliveries_ready`. A scheduled row's due_at
 * starts at its not_before, so the not_before test only re-checks the rows the index range gave.
 */
async function claimRows(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  owner: string,
  lease: number,
  notificationId: string,
  tenantId: string,
  now: number,
  limit: number,
): Promise<JobRow[]> {
  const nowIso = iso(now);
  const params = [notificationId, tenantId, now, nowIso, limit, owner, lease, nowIso, notificationId];
  return (await db.executeQuery<JobRow>(CompiledQuery.raw(claimText[dialect], params))).rows;
}

const claimTextOf = (dialect: StoreDialect): string => {
  const m = (i: number): string => (dialect === "postgres" ? `$${i}` : "?");
  return `with picked as materialized (
      select seq from deliveries
      where notification_id = ${m(1)} and tenant_id = ${m(2)} and queue = 'ready' and due_at <= ${m(3)}
        and (not_before is null or not_before <= ${m(4)})
      order by due_at, seq limit ${m(5)}${dialect === "postgres" ? " for update skip locked" : ""})
    update ${statementJournalFree[dialect]}deliveries set queue = 'claimed', lease_owner = ${m(6)}, lease_id = ${m(7)}, updated_at = ${m(8)}
    where notification_id = ${m(9)} and seq in (select seq from picked)
    returning ${jobColumns.join(", ")}`;
};
const claimText: Record<StoreDialect, string> = { sqlite: claimTextOf("sqlite"), postgres: claimTextOf("postgres") };

/**
 * Give back the rows a failed claim may have taken: a claim can fail after its rows were claimed
 * (its answer lost to a reset, or a later statement of it failing), and the lane, which never got
 * them, would not send them, nor would recovery take them from a live owner. Back to ready, as
 * `retire` gives back claimed rows. Returns how many.
 */
export async function releaseLease(
  db: Kysely<AllTables>,
  owner: string,
  notificationId: string,
  lease: number,
  now: number,
): Promise<number> {
  const result = await db
    .updateTable("deliveries")
    .set({ queue: "ready", lease_owner: null, updated_at: iso(now) })
    .where("notification_id", "=", notificationId)
    .where("lease_owner", "=", owner)
    .where("lease_id", "=", lease)
    .where("queue", "=", "claimed")
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function nextDue(db: Kysely<AllTables>, notificationId: string, tenantId: string): Promise<number | undefined> {
  const row = await db
    .selectFrom("deliveries")
    .select("due_at")
    .where("notification_id", "=", notificationId)
    .where("tenant_id", "=", tenantId)
    .where("queue", "=", ready)
    .orderBy("due_at")
    .limit(1)
    .executeTakeFirst();
  return row?.due_at == null ? undefined : Number(row.due_at);
}

export async function markInflight(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  owner: string,
  keys: readonly LeasedKey[],
  now: number,
): Promise<LeasedKey[]> {
  if (keys.length === 0) return [];
  return db.transaction().execute((trx) => markInflightIn(trx, dialect, owner, keys, now));
}

/**
 * Claimed rows of `owner`, still under the lease each key names → `inflight`, inside the caller's
 * transaction; returns the keys it marked. One statement per claim (a claim's rows share its
 * lease). Statement text rather than Kysely's builder: it runs before every send (see updateRows).
 */
async function markInflightIn(
  trx: Kysely<AllTables>,
  dialect: StoreDialect,
  owner: string,
  keys: readonly LeasedKey[],
  now: number,
): Promise<LeasedKey[]> {
  const out: LeasedKey[] = [];
  const nowIso = iso(now);
  for (const { notificationId, lease, seqs } of groupByLease(keys)) {
    for (const part of chunk(seqs, rowsPerStatement)) {
      const params: unknown[] = [nowIso, notificationId, owner, lease, ...part];
      const mark = (i: number): string => (dialect === "postgres" ? `$${i}` : "?");
      // SQLite: `+lease_owner` keeps the planner off `deliveries_lease` (every row the worker
      // holds, hundreds at full speed, read and filtered per statement) for the primary key.
      const text = `update ${statementJournalFree[dialect]}deliveries set queue = 'inflight', updated_at = ${mark(1)}
        where notification_id = ${mark(2)} and queue = 'claimed' and ${dialect === "postgres" ? "" : "+"}lease_owner = ${mark(3)}
          and lease_id = ${mark(4)} and seq in (${part.map((_, i) => mark(i + 5)).join(", ")}) returning seq`;
      const rows = (await trx.executeQuery<{ seq: number | string }>(CompiledQuery.raw(text, params))).rows;
      for (const r of rows) out.push({ notificationId, seq: Number(r.seq), lease });
    }
  }
  return out;
}

/**
 * One transaction: lock the notifications touched (their version and recall state decide
 * follow-ups), update the rows still leased by `owner`, add the counter changes of those rows.
 */
export async function recordResults(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  owner: string,
  results: readonly JobResult[],
  now: number,
): Promise<Map<string, number>> {
  if (results.length === 0) return new Map();
  return db.transaction().execute(async (trx) => {
    const locked = await lockNotifications(
      trx,
      dialect,
      results.map((r) => r.notificationId),
    );
    return (await recordResultsIn(trx, dialect, owner, results, locked, now)).versions;
  });
}

/**
 * recordResults inside the caller's transaction, which has locked (read) the results'
 * notifications. Returns the versions read, and the notifications whose counters this write
 * brought to nothing pending (the only ones it may have finished).
 */
async function recordResultsIn(
  trx: Kysely<AllTables>,
  dialect: StoreDialect,
  owner: string,
  results: readonly JobResult[],
  locked: LockedNotifications,
  now: number,
): Promise<{ versions: Map<string, number>; maybeDone: Set<string> }> {
  const versions = new Map<string, number>();
  const maybeDone = new Set<string>();
  if (results.length === 0) return { versions, maybeDone };
  const nowIso = iso(now);
  const states = new Map<string, NotificationState>();
  for (const { notificationId: id } of results) {
    const s = locked.get(id);
    if (!s || states.has(id)) continue;
    states.set(id, { version: s.version, recalled: s.canceled });
    versions.set(id, s.version);
  }
  const outcomes = results.filter((r): r is OutcomeResult => r.kind !== "release");
  const changes = planResults(outcomes, states, now);
  if (dialect === "postgres") {
    // Rows and their counters in one statement per 500 rows (one round trip, see updateRowsCounting).
    for (const id of (await updateRowsCounting(trx, changes, owner, nowIso)).maybeDone) maybeDone.add(id);
  } else {
    // By lease too: a result under an ended lease must not count when the row's current lease hit.
    const hit = new Set((await updateRows(trx, dialect, changes, owner, nowIso)).map(leasedKeyString));
    for (const [id, delta] of sumDeltas(changes, (k) => hit.has(leasedKeyString(k)))) {
      if (await addToCountersReturning(trx, dialect, id, delta, nowIso)) maybeDone.add(id);
    }
  }
  for (const r of results) {
    if (r.kind !== "release") continue;
    // Recalled while this row was out of the pool (claimed or marked): a send not made is canceled, never made later.
    if (states.get(r.notificationId)?.recalled && (await cancelUnsent(trx, owner, r, nowIso))) {
      maybeDone.add(r.notificationId);
      continue;
    }
    await trx
      .updateTable("deliveries")
      .set((eb) => ({
        queue: "ready",
        due_at: r.dueAt ?? now,
        lease_owner: null,
        conversation_id: r.conversationId ?? eb.ref("conversation_id"),
        service_url: r.serviceUrl ?? eb.ref("service_url"),
        updated_at: nowIso,
      }))
      .where("notification_id", "=", r.notificationId)
      .where("seq", "=", r.seq)
      .where("lease_owner", "=", owner)
      .where("lease_id", "=", r.lease)
      .execute();
  }
  return { versions, maybeDone };
}

/** A row still under the key's lease and `pending` (its send not made) → `canceled`, with its counters; false when the row is not such a row. */
async function cancelUnsent(trx: Kysely<AllTables>, owner: string, key: LeasedKey, nowIso: string): Promise<boolean> {
  const canceled = await trx
    .updateTable("deliveries")
    .set({ status: "canceled", op: null, queue: null, due_at: null, lease_owner: null, updated_at: nowIso })
    .where("notification_id", "=", key.notificationId)
    .where("seq", "=", key.seq)
    .where("lease_owner", "=", owner)
    .where("lease_id", "=", key.lease)
    .where("status", "=", "pending")
    .executeTakeFirst();
  if (Number(canceled.numUpdatedRows) === 0) return false;
  await addToCounters(trx, key.notificationId, { pending: -1, canceled: 1 }, nowIso);
  return true;
}

/**
 * The dispatcher's batched write, one transaction (one commit) for all of it: in-flight marks,
 * results with their counters, then the notifications those results finished.
 */
export async function writeBatch(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  owner: string,
  batch: WorkBatch,
  now: number,
): Promise<WorkBatchResult> {
  if (batch.marks.length === 0 && batch.results.length === 0) return { marked: [], versions: new Map(), finished: [] };
  return db.transaction().execute(async (trx) => {
    // Notifications first, rows after, as every other writer (a recall, an edit) does: on
    // PostgreSQL, marking rows before locking their notification deadlocked with a recall.
    const ids = [...batch.marks.map((k) => k.notificationId), ...batch.results.map((r) => r.notificationId)];
    const { locked, marked } =
      dialect === "postgres"
        ? await lockAndMark(trx, owner, ids, batch.marks, now)
        : { locked: await lockNotifications(trx, dialect, ids), marked: await markInflightIn(trx, dialect, owner, batch.marks, now) };
    const { versions, maybeDone } = await recordResultsIn(trx, dialect, owner, batch.results, locked, now);
    // Only a notification this write brought to nothing pending can have finished here; any
    // other is finished by whoever brings it there (or by the directory's poll).
    const finished = await finishIfDone(trx, [...maybeDone], now);
    return { marked, versions, finished };
  });
}

/**
 * PostgreSQL: lockNotifications then markInflightIn as ONE statement (one round trip instead of
 * two or more; the write is a handful of round trips, and on a busy machine each costs
 * milliseconds of waiting for the database's process to be scheduled). The same order as
 * apart: the `count(*)` of `locked` is a one-time filter of the update, evaluated, and so every
 * notification locked (in id order), before any delivery row is touched. Arrays keep the
 * text the same whatever the batch.
 */
async function lockAndMark(
  trx: Kysely<AllTables>,
  owner: string,
  ids: readonly string[],
  marks: readonly LeasedKey[],
  now: number,
): Promise<{ locked: LockedNotifications; marked: LeasedKey[] }> {
  const sorted = [...new Set(ids)].sort();
  const params = [sorted, iso(now), owner, marks.map((k) => k.notificationId), marks.map((k) => k.seq), marks.map((k) => k.lease)];
  const rows = (
    await trx.executeQuery<{
      k: "n" | "m";
      id: string;
      message_version: number | string | null;
      status: string | null;
      canceled: number | string | null;
      seq: number | string | null;
      lease_id: number | string | null;
    }>(CompiledQuery.raw(lockAndMarkText, params))
  ).rows;
  const locked: LockedNotifications = new Map();
  const marked: LeasedKey[] = [];
  for (const r of rows) {
    if (r.k === "n") locked.set(r.id, { version: Number(r.message_version), status: r.status ?? "", canceled: Number(r.canceled) === 1 });
    else marked.push({ notificationId: r.id, seq: Number(r.seq), lease: Number(r.lease_id) });
  }
  return { locked, marked };
}

const lockAndMarkText = `with locked as materialized (
    select id, message_version, status, canceled_at from notifications where id = any($1::text[]) order by id for update),
  marked as (
    update deliveries d set queue = 'inflight', updated_at = $2
    from unnest($4::text[], $5::bigint[], $6::bigint[]) as m(nid, mseq, mlease)
    where (select count(*) from locked) >= 0
      and d.notification_id = m.nid and d.seq = m.mseq and d.queue = 'claimed' and d.lease_owner = $3 and d.lease_id = m.mlease
    returning d.notification_id, d.seq, d.lease_id)
  select 'n' as k, id, message_version, status, case when canceled_at is null then 0 else 1 end as canceled, null::bigint as seq, null::bigint as lease_id from locked
  union all
  select 'm', notification_id, null, null, null, seq, lease_id from marked`;

export async function finishIfDone(db: Kysely<AllTables>, ids: readonly string[], now: number): Promise<string[]> {
  if (ids.length === 0) return [];
  const nowIso = iso(now);
  const rows = await db
    .updateTable("notifications")
    .set((eb) => ({
      active: 0,
      status: eb.case().when("status", "in", ["queued", "sending"]).then("completed").else(eb.ref("status")).end(),
      completed_at: nowIso,
      updated_at: nowIso,
    }))
    .where("id", "in", [...new Set(ids)])
    .where("active", "=", 1)
    .where("status", "<>", "scheduled")
    .where("expansion_done", "=", 1)
    .where("pending", "=", 0)
    .where("edit_pending", "=", 0)
    .where("recall_pending", "=", 0)
    .returning("id")
    .execute();
  return rows.map((r) => r.id);
}

/** Keys grouped by notification and lease (the rows of one claim), in the order first seen. */
function groupByLease(keys: readonly LeasedKey[]): { notificationId: string; lease: number; seqs: number[] }[] {
  const groups = new Map<string, { notificationId: string; lease: number; seqs: number[] }>();
  for (const k of keys) {
    const id = `${k.notificationId}\u0000${k.lease}`;
    const group = groups.get(id);
    if (group) group.seqs.push(k.seq);
    else groups.set(id, { notificationId: k.notificationId, lease: k.lease, seqs: [k.seq] });
  }
  return [...groups.values()];
}
