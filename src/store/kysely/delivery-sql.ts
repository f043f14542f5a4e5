import { CompiledQuery, type ExpressionBuilder, type Insertable, type Kysely, type RawBuilder, sql } from "kysely";
import type { LeasedKey } from "../../delivery/model.js";
import type { Counter, CounterDelta, RowChange } from "../../delivery/store/plan.js";
import type { StoreDialect } from "./backend.js";
import { type CounterColumn, counterColumn } from "./delivery-rows.js";
import type { AllTables, DeliveriesTable } from "./delivery-schema.js";

/**
 * SQL of the delivery store's hot path that Kysely's builders cannot say for both databases:
 * many rows updated with different values in ONE statement (`WITH v(...) AS (VALUES ...) UPDATE
 * ... FROM v`, SQLite ≥ 3.33 and PostgreSQL), and counter increments.
 */

export const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/**
 * `or fail ` on SQLite for a multi-row update inside a transaction: the statement then needs no
 * statement journal. With SQLite's default conflict action (ABORT) a statement that may change
 * several rows and may hit a constraint (the NOT NULL columns it sets) keeps a copy of every page
 * it changes, to undo itself alone; past 64 KiB that copy goes to a temporary file, created and
 * deleted for the statement. A result update of 10 rows touches more (its rows, and the entries of
 * five indexes, `deliveries_activity` on random pages): at Teams' ceiling that was a temporary
 * file created, written and deleted for about every batched write (10 a second, 6 system calls
 * each, and the page copies). FAIL stops at the failing row without undoing the rows before it;
 * every caller runs these updates in a transaction that any error rolls back whole, so the
 * outcome of a failure is the same. PostgreSQL has no such clause (nor the journal).
 */
export const statementJournalFree: Record<StoreDialect, string> = { sqlite: "or fail ", postgres: "" };

/** Rows per multi-row statement: 16 values each keeps under SQLite's 32,766 bound parameters. */
export const rowsPerStatement = 500;

/** The columns of a row change every update sets, in the order of the `v(...)` list below, with their PostgreSQL types. */
const keyColumns: readonly ChangeColumn[] = [
  ["nid", "text", (c) => c.key.notificationId],
  ["vseq", "bigint", (c) => c.key.seq],
  ["vlease", "bigint", (c) => c.key.lease],
  ["status", "text", (c) => c.status],
  ["op", "text", (c) => c.op],
  ["queue", "text", (c) => c.queue],
  ["due_at", "bigint", (c) => c.dueAt],
  ["attempts", "integer", (c) => c.attempts],
  ["first_attempt_at", "bigint", (c) => c.firstAttemptAt],
];

/**
 * The columns a change may leave undefined (the row keeps its value: COALESCE), with the row's
 * column each sets. A column no change of a statement carries is left out of it altogether: the
 * same rows result, with fewer values to bind, and SQLite then leaves alone the indexes on that
 * column (it rewrites an index entry whenever the SET list names one of its columns, even to the
 * same value: `conversation_id` is in two).
 */
const optionalColumns: readonly ChangeColumn[] = [
  ["activity_id", "text", (c) => c.activityId],
  ["conversation_id", "text", (c) => c.conversationId],
  ["service_url", "text", (c) => c.serviceUrl],
  ["applied_version", "integer", (c) => c.appliedVersion],
  ["recall_state", "text", (c) => c.recallState],
  ["err_code", "text", (c) => c.errorCode, "last_error_code"],
  ["err_msg", "text", (c) => c.errorMessage, "last_error_message"],
  ["sent_at", "timestamptz", (c) => c.sentAt],
];

/** A `v(...)` column: its name, PostgreSQL type, value, and the row's column it sets when not the same name. */
type ChangeColumn = readonly [name: string, type: string, get: (c: RowChange) => unknown, column?: string];

/**
 * Apply row changes whose row is still leased by `owner` under the change's lease; returns the
 * keys that were updated.
 * Columns a change leaves undefined keep their stored value (COALESCE).
 *
 * One `WITH v(...) AS (VALUES ...) UPDATE ... FROM v` per chunk. The statement text is built here
 * rather than with Kysely's `sql` fragments: on the hot path (every result of every send)
 * compiling 16 fragments per row cost more than running it. Values are always bound parameters;
 * only placeholders and casts are written into the text.
 */
export async function updateRows(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  changes: readonly RowChange[],
  owner: string,
  nowIso: string,
): Promise<LeasedKey[]> {
  return (await updateRowsWith(db, dialect, changes, owner, nowIso, false)).hit;
}

/**
 * PostgreSQL: `updateRows` and, in the SAME statement, `addToCountersReturning` for the rows it
 * hit (each change's counter delta rides in `v`; the rows updated are summed per notification
 * and added): one round trip instead of one plus one per notification. Returns the keys updated
 * and the notifications it may have finished (as addToCountersReturning says).
 */
export async function updateRowsCounting(
  db: Kysely<AllTables>,
  changes: readonly RowChange[],
  owner: string,
  nowIso: string,
): Promise<{ hit: LeasedKey[]; maybeDone: Set<string> }> {
  return updateRowsWith(db, "postgres", changes, owner, nowIso, true);
}

async function updateRowsWith(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  changes: readonly RowChange[],
  owner: string,
  nowIso: string,
  counting: boolean,
): Promise<{ hit: LeasedKey[]; maybeDone: Set<string> }> {
  const hit: LeasedKey[] = [];
  const maybeDone = new Set<string>();
  for (const part of chunk(changes, rowsPerStatement)) {
    const optional = optionalColumns.filter(([, , get]) => part.some((c) => get(c) != null));
    // Counting: a `c_<column>` per counter some change of this statement moves.
    const counted = counting
      ? (Object.entries(counterColumn) as [Counter, CounterColumn][]).filter(([k]) => part.some((c) => (c.delta[k] ?? 0) !== 0))
      : [];
    const deltas: ChangeColumn[] = counted.map(([k, col]) => [`c_${col}`, "integer", (c) => c.delta[k] ?? 0]);
    const columns: readonly ChangeColumn[] = [...keyColumns, ...optional, ...deltas];
    const params: unknown[] = [];
    const bind = (value: unknown, type: string): string => {
      params.push(value);
      return dialect === "postgres" ? `$${params.length}::${type}` : "?";
    };
    const tuples = part.map((c) => `(${columns.map(([, type, get]) => bind(get(c) ?? null, type)).join(", ")})`);
    // Placeholders are numbered in order of appearance, so `now` and `owner` are bound last.
    const text = `with v(${columns.map(([name]) => name).join(", ")}) as (values ${tuples.join(", ")})
      update ${statementJournalFree[dialect]}deliveries as d set
        status = v.status, op = v.op, queue = v.queue, due_at = v.due_at, attempts = v.attempts,
        first_attempt_at = v.first_attempt_at,
        ${optional.map(([name, , , column = name]) => `${column} = coalesce(v.${name}, d.${column}),`).join(" ")}
        lease_owner = null,
        updated_at = ${bind(nowIso, "timestamptz")}
      from v
      where d.notification_id = v.nid and d.seq = v.vseq and d.lease_owner = ${bind(owner, "text")} and d.lease_id = v.vlease
      returning notification_id, seq, lease_id`;
    if (counted.length === 0) {
      const result = await db.executeQuery<{ notification_id: string; seq: number | string; lease_id: number | string }>(
        CompiledQuery.raw(text, params),
      );
      for (const r of result.rows) hit.push({ notificationId: r.notification_id, seq: Number(r.seq), lease: Number(r.lease_id) });
      continue;
    }
    // The update above as `upd` (returning its rows' deltas), summed per notification and added
    // to the counters, only where a sum is not zero (as addToCountersReturning skips a zero delta).
    const names = counted.map(([, col]) => col);
    const counting_ = `with v(${columns.map(([name]) => name).join(", ")}) as (values ${tuples.join(", ")}),
      upd as (${text.slice(text.indexOf("update deliveries"))}, ${names.map((col) => `v.c_${col}`).join(", ")}),
      sums as (select notification_id as nid, ${names.map((col) => `sum(c_${col})::integer as c_${col}`).join(", ")}
        from upd group by notification_id),
      cnt as (update notifications n set ${names.map((col) => `"${col}" = n."${col}" + sums.c_${col}`).join(", ")},
          updated_at = ${bind(nowIso, "timestamptz")}
        from sums where n.id = sums.nid and (${names.map((col) => `sums.c_${col} <> 0`).join(" or ")})
        returning n.id, n.pending, n.edit_pending, n.recall_pending)
      select 'r' as k, notification_id as id, seq, lease_id, null::integer as pending, null::integer as edit_pending, null::integer as recall_pending from upd
      union all
      select 'c', id, null, null, pending, edit_pending, recall_pending from cnt`;
    type Row = { k: "r" | "c"; id: string; seq: number | string | null; lease_id: number | string | null } & Record<
      "pending" | "edit_pending" | "recall_pending",
      number | string | null
    >;
    for (const r of (await db.executeQuery<Row>(CompiledQuery.raw(counting_, params))).rows) {
      if (r.k === "r") hit.push({ notificationId: r.id, seq: Number(r.seq), lease: Number(r.lease_id) });
      else if (Number(r.pending) === 0 && Number(r.edit_pending) === 0 && Number(r.recall_pending) === 0) maybeDone.add(r.id);
    }
  }
  return { hit, maybeDone };
}

/** Columns of a new delivery row, in the order `insertDeliveries` writes them. */
const deliveryColumns = [
  "notification_id",
  "seq",
  "recipient_key",
  "kind",
  "tenant_id",
  "conversation_id",
  "service_url",
  "target_id",
  "user_id",
  "user_name",
  "user_aad_object_id",
  "given_name",
  "surname",
  "locale",
  "status",
  "op",
  "queue",
  "due_at",
  "lease_owner",
  "attempts",
  "first_attempt_at",
  "activity_id",
  "applied_version",
  "recall_state",
  "last_error_code",
  "last_error_message",
  "sent_at",
  "updated_at",
  "retry_blocked",
  "not_before",
  "timezone",
] as const satisfies readonly (keyof DeliveriesTable)[];

/** SQLite: rows per insert statement, its text (~24,500 characters) short enough to stay prepared. */
const rowsPerInsertStatement = 250;

/**
 * Insert new delivery rows (at most 1,000: 31 values each stays under SQLite's 32,766 bound
 * parameters), skipping recipients the notification already has; returns the status and tenant
 * of the rows inserted. Built as text like `updateRows`: an expansion page is 31,000 values, and
 * Kysely's per-value nodes cost more than the insert.
 */
export async function insertDeliveries(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  rows: readonly Insertable<DeliveriesTable>[],
): Promise<{ status: string; tenant_id: string }[]> {
  if (rows.length === 0) return [];
  // SQLite: in statements of `rowsPerInsertStatement` rows, so that an expansion's pages reuse
  // one prepared text (statement-cache.ts keeps none longer than 32,000 characters; 500 rows are
  // 48,000, and preparing that cost about 1.2 ms per page: 2 µs per recipient).
  if (dialect === "sqlite" && rows.length > rowsPerInsertStatement) {
    const out: { status: string; tenant_id: string }[] = [];
    for (const part of chunk(rows, rowsPerInsertStatement)) for (const r of await insertDeliveries(db, dialect, part)) out.push(r);
    return out;
  }
  const params: unknown[] = [];
  const tuples = rows.map((row) => {
    const marks = deliveryColumns.map((c) => {
      params.push(row[c] ?? null);
      return dialect === "postgres" ? `$${params.length}` : "?";
    });
    return `(${marks.join(", ")})`;
  });
  const text = `insert into deliveries (${deliveryColumns.join(", ")}) values ${tuples.join(", ")}
    on conflict (notification_id, recipient_key) do nothing returning status, tenant_id`;
  return (await db.executeQuery<{ status: string; tenant_id: string }>(CompiledQuery.raw(text, params))).rows;
}

/** `SET pending = pending + ?, sent = sent + ?, ...` for one notification. */
export async function addToCounters(
  db: Kysely<AllTables>,
  id: string,
  delta: CounterDelta,
  nowIso: string,
  extra?: RawBuilder<unknown>,
): Promise<void> {
  const parts: RawBuilder<unknown>[] = [];
  for (const [k, v] of Object.entries(delta) as [keyof typeof counterColumn, number][]) {
    if (!v) continue;
    const col: CounterColumn = counterColumn[k];
    parts.push(sql`${sql.ref(col)} = ${sql.ref(col)} + ${v}`);
  }
  if (extra) parts.push(extra);
  if (parts.length === 0) return;
  parts.push(sql`updated_at = ${nowIso}`);
  await sql`update notifications set ${sql.join(parts)} where id = ${id}`.execute(db);
}

/**
 * `addToCounters` for the dispatcher's batched write, as one statement whose text depends only
 * on which counters change (no Kysely fragments on the hot path); returns whether the
 * notification may now be finished (nothing pending, no edit or recall pending), so that the
 * write asks `finishIfDone` only for those.
 */
export async function addToCountersReturning(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  id: string,
  delta: CounterDelta,
  nowIso: string,
): Promise<boolean> {
  const params: unknown[] = [];
  const bind = (v: unknown): string => {
    params.push(v);
    return dialect === "postgres" ? `$${params.length}` : "?";
  };
  const parts: string[] = [];
  for (const [k, v] of Object.entries(delta) as [keyof typeof counterColumn, number][]) {
    if (!v) continue;
    const col: CounterColumn = counterColumn[k];
    parts.push(`"${col}" = "${col}" + ${bind(v)}`);
  }
  if (parts.length === 0) return false;
  parts.push(`updated_at = ${bind(nowIso)}`);
  const text = `update notifications set ${parts.join(", ")} where id = ${bind(id)} returning pending, edit_pending, recall_pending`;
  const row = (
    await db.executeQuery<{ pending: number | string; edit_pending: number | string; recall_pending: number | string }>(
      CompiledQuery.raw(text, params),
    )
  ).rows[0];
  return row !== undefined && Number(row.pending) === 0 && Number(row.edit_pending) === 0 && Number(row.recall_pending) === 0;
}

/** What lockNotifications read of each notification. */
export type LockedNotifications = Map<string, { version: number; status: string; canceled: boolean }>;

/**
 * Read (and on PostgreSQL lock, in id order so concurrent writers never deadlock) the
 * notifications a write is about to change.
 */
export async function lockNotifications(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  ids: readonly string[],
): Promise<LockedNotifications> {
  const out: LockedNotifications = new Map();
  if (ids.length === 0) return out;
  const sorted = [...new Set(ids)].sort();
  for (const part of chunk(sorted, rowsPerStatement)) {
    // Text rather than Kysely's builder: this runs in every batched write (see updateRows).
    const marks = part.map((_, i) => (dialect === "postgres" ? `$${i + 1}` : "?")).join(", ");
    const text = `select id, message_version, status, canceled_at from notifications where id in (${marks}) order by id${dialect === "postgres" ? " for update" : ""}`;
    const rows = (
      await db.executeQuery<{ id: string; message_version: number | string; status: string; canceled_at: unknown }>(
        CompiledQuery.raw(text, part),
      )
    ).rows;
    for (const r of rows) out.set(r.id, { version: Number(r.message_version), status: r.status, canceled: r.canceled_at !== null });
  }
  return out;
}

/**
 * The update that ends delivery rows with a final outcome (the batch path's settle and its
 * recovery): off every queue, no lease, one more attempt, the outcome's code and message, and
 * `sent_at` when it says sent.
 */
export function endedWith(outcome: { status: string; code: string; message: string }, atIso: string) {
  return (eb: ExpressionBuilder<AllTables, "deliveries">) => ({
    status: outcome.status,
    op: null,
    queue: null,
    due_at: null,
    lease_owner: null,
    attempts: sql<number>`${eb.ref("attempts")} + 1`,
    last_error_code: outcome.code,
    last_error_message: outcome.message,
    sent_at: outcome.status === "sent" ? atIso : null,
    updated_at: atIso,
  });
}
