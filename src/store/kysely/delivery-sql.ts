import { type Kysely, type RawBuilder, sql } from "kysely";
import type { DeliveryKey } from "../../delivery/model.js";
import type { CounterDelta, RowChange } from "../../delivery/store/plan.js";
import type { StoreDialect } from "./backend.js";
import { type CounterColumn, counterColumn } from "./delivery-rows.js";
import type { AllTables } from "./delivery-schema.js";

/**
 * SQL of the delivery store's hot path that Kysely's builders cannot say for both databases:
 * many rows updated with different values in ONE statement, and counter increments.
 *
 * The rows travel as ONE JSON parameter (an array of arrays) unpacked by the database
 * (`json_each` in SQLite, `jsonb_array_elements` in PostgreSQL), not as thousands of bound
 * parameters: the statement text is the same for every batch size, so preparing it costs
 * little, and no parameter limit applies.
 */

export const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/** Ids per `IN (...)` list of bound parameters (SQLite allows 32,766 per statement). */
export const rowsPerStatement = 500;

/** Rows per JSON batch (no parameter limit; bounded so one statement stays short). */
const rowsPerJson = 2_000;

/**
 * The elements of a JSON array parameter, one row each with column `value`, and the `k`-th item
 * of an element (as `type` on PostgreSQL, where `->>` gives text).
 */
export function jsonRows(dialect: StoreDialect, json: string): RawBuilder<unknown> {
  return dialect === "postgres" ? sql`jsonb_array_elements(${json}::jsonb)` : sql`json_each(${json})`;
}
export function item(dialect: StoreDialect, k: number, type: "text" | "bigint" | "integer"): RawBuilder<unknown> {
  return dialect === "postgres" ? sql.raw(`(value->>${k})::${type}`) : sql.raw(`(value->>${k})`);
}

/**
 * Apply row changes whose row is still `owner`'s: leased to it (claimed or in flight), or, on a
 * store one process owns, still waiting for the operation the job performed. Returns the keys
 * that were updated. Columns a change leaves undefined keep their stored value (COALESCE).
 */
export async function updateRows(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  changes: readonly RowChange[],
  owner: string,
  nowIso: string,
): Promise<DeliveryKey[]> {
  const hit: DeliveryKey[] = [];
  const v = (k: number, type: "text" | "bigint" | "integer") => item(dialect, k, type);
  for (const part of chunk(changes, rowsPerJson)) {
    const json = JSON.stringify(
      part.map((c) => [
        c.key.notificationId,
        c.key.seq,
        c.status,
        c.op,
        c.queue,
        c.dueAt,
        c.attempts,
        c.firstAttemptAt,
        c.activityId ?? null,
        c.conversationId ?? null,
        c.serviceUrl ?? null,
        c.appliedVersion ?? null,
        c.recallState ?? null,
        c.errorCode ?? null,
        c.errorMessage ?? null,
        c.sentAt ?? null,
        c.fromOp,
      ]),
    );
    const result = await sql<{ notification_id: string; seq: number | string }>`
      with v as (
        select ${v(0, "text")} as nid, ${v(1, "bigint")} as vseq, ${v(2, "text")} as status, ${v(3, "text")} as op,
               ${v(4, "text")} as queue, ${v(5, "bigint")} as due_at, ${v(6, "integer")} as attempts,
               ${v(7, "bigint")} as first_attempt_at, ${v(8, "text")} as activity_id, ${v(9, "text")} as conversation_id,
               ${v(10, "text")} as service_url, ${v(11, "integer")} as applied_version, ${v(12, "text")} as recall_state,
               ${v(13, "text")} as err_code, ${v(14, "text")} as err_msg, ${v(15, "text")} as sent_at, ${v(16, "text")} as from_op
        from ${jsonRows(dialect, json)}
      )
      update deliveries as d set
        status = v.status, op = v.op, queue = v.queue, due_at = v.due_at, attempts = v.attempts,
        first_attempt_at = v.first_attempt_at,
        activity_id = coalesce(v.activity_id, d.activity_id),
        conversation_id = coalesce(v.conversation_id, d.conversation_id),
        service_url = coalesce(v.service_url, d.service_url),
        applied_version = coalesce(v.applied_version, d.applied_version),
        recall_state = coalesce(v.recall_state, d.recall_state),
        last_error_code = coalesce(v.err_code, d.last_error_code),
        last_error_message = coalesce(v.err_msg, d.last_error_message),
        sent_at = coalesce(v.sent_at, d.sent_at),
        lease_owner = null,
        updated_at = ${nowIso}
      from v
      where d.notification_id = v.nid and d.seq = v.vseq
        and (d.lease_owner = ${owner} or (d.lease_owner is null and d.queue = 'ready' and d.op = v.from_op))
      returning notification_id, seq`.execute(db);
    for (const r of result.rows) hit.push({ notificationId: r.notification_id, seq: Number(r.seq) });
  }
  return hit;
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

/** Key of a delivery for Sets and Maps. */
export const keyOf = (k: DeliveryKey): string => `${k.notificationId}\u0000${k.seq}`;

/**
 * Read (and on PostgreSQL lock, in id order so concurrent writers never deadlock) the
 * notifications a write is about to change.
 */
export async function lockNotifications(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  ids: readonly string[],
): Promise<Map<string, { version: number; status: string; canceled: boolean }>> {
  const out = new Map<string, { version: number; status: string; canceled: boolean }>();
  if (ids.length === 0) return out;
  const sorted = [...new Set(ids)].sort();
  for (const part of chunk(sorted, rowsPerStatement)) {
    const rows = await db
      .selectFrom("notifications")
      .select(["id", "message_version", "status", "canceled_at"])
      .where("id", "in", part)
      .orderBy("id")
      .$if(dialect === "postgres", (q) => q.forUpdate())
      .execute();
    for (const r of rows) out.set(r.id, { version: Number(r.message_version), status: r.status, canceled: r.canceled_at !== null });
  }
  return out;
}
