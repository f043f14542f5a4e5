import type { Kysely } from "kysely";
import type { NewDelivery, Notification } from "../../delivery/model.js";
import type { ChatWindow, NewNotification } from "../../delivery/store/port.js";
import type { StoreDialect } from "./backend.js";
import { insertWindowRows } from "./chat-window.js";
import { countStatuses, newDeliveryRow, rowToNotification } from "./delivery-rows.js";
import type { AllTables } from "./delivery-schema.js";
import { addToCounters, chunk, insertDeliveries, lockNotifications } from "./delivery-sql.js";

/** Rows per INSERT: 28 columns each keeps under SQLite's 32,766 bound parameters. */
const rowsPerInsert = 500;

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Insert a notification with its first rows, in one transaction. Idempotent on
 * `(createdBy, idempotencyKey)`: an existing pair returns the stored notification (also when a
 * concurrent request with the same key wins the race on PostgreSQL: its unique index refuses
 * ours, and we read theirs).
 */
export async function createNotification(
  db: Kysely<AllTables>,
  input: NewNotification,
  rows: readonly NewDelivery[],
): Promise<{ notification: Notification; created: boolean }> {
  try {
    return await db.transaction().execute(async (trx) => {
      const found = await findByKey(trx, input);
      if (found) return { notification: found, created: false };
      const unique = dedupe(rows);
      const counts = countStatuses(unique.map((r) => r.status));
      const scheduled = input.scheduledAt !== undefined && input.scheduledAt > input.createdAt;
      const dueAt = scheduled ? (input.scheduledAt ?? input.createdAt) : input.createdAt;
      const now = iso(input.createdAt);
      await trx
        .insertInto("notifications")
        .values({
          id: input.id,
          created_by: input.createdBy,
          idempotency_key: input.idempotencyKey ?? null,
          request_hash: input.requestHash,
          tenant_id: input.tenantId ?? null,
          status: scheduled ? "scheduled" : "queued",
          active: 1,
          audience: JSON.stringify(input.audience),
          message: JSON.stringify(input.message),
          message_version: 1,
          data: input.data === undefined ? null : JSON.stringify(input.data),
          category: input.category ?? null,
          priority: input.priority ?? null,
          footer: input.footer ? 1 : null,
          created_at: now,
          scheduled_at: input.scheduledAt === undefined ? null : iso(input.scheduledAt),
          schedule: input.schedule === undefined ? null : JSON.stringify(input.schedule),
          series_id: input.seriesId ?? null,
          series_run_at: input.seriesRunAt === undefined ? null : iso(input.seriesRunAt),
          started_at: null,
          completed_at: null,
          canceled_at: null,
          updated_at: now,
          expansion_done: input.expansionDone ? 1 : 0,
          expansion_cursor: input.expansionCursor === undefined ? null : JSON.stringify(input.expansionCursor),
          expansion_owner: null,
          next_seq: unique.length,
          total: unique.length,
          pending: counts.pending ?? 0,
          sent: 0,
          failed: counts.failed ?? 0,
          blocked: counts.blocked ?? 0,
          not_found: counts.notFound ?? 0,
          opted_out: counts.optedOut ?? 0,
          canceled: 0,
          unknown: 0,
          edit_pending: 0,
          edit_done: 0,
          edit_failed: 0,
          recall_pending: 0,
          recall_done: 0,
          recall_failed: 0,
        })
        .execute();
      let seq = 0;
      for (const part of chunk(unique, rowsPerInsert)) {
        await trx
          .insertInto("deliveries")
          .values(part.map((d) => newDeliveryRow(input.id, seq++, d, dueAt, input.createdAt)))
          .execute();
      }
      await insertTenants(trx, input.id, unique);
      const row = await trx.selectFrom("notifications").selectAll().where("id", "=", input.id).executeTakeFirstOrThrow();
      return { notification: rowToNotification(row), created: true };
    });
  } catch (e) {
    const winner = isUniqueViolation(e) ? await findByKey(db, input) : undefined;
    if (winner) return { notification: winner, created: false };
    throw e;
  }
}

/**
 * One page of a streaming expansion: rows (duplicates of existing recipients skipped), then with
 * `window` the rows of its other active chats (chat-window.ts), counters, the cursor and the done
 * flag, in one transaction. Writes nothing when the notification was recalled or its expansion
 * is no longer `owner`'s.
 */
export async function appendDeliveries(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  notificationId: string,
  owner: string,
  rows: readonly NewDelivery[],
  progress: { cursor: unknown; done: boolean },
  now: number,
  window?: ChatWindow,
): Promise<{ inserted: number; tenants: string[]; accepted: boolean }> {
  return db.transaction().execute(async (trx) => {
    await lockNotifications(trx, dialect, [notificationId]);
    const head = await trx
      .selectFrom("notifications")
      .select(["next_seq", "expansion_owner", "expansion_done", "canceled_at", "scheduled_at"])
      .where("id", "=", notificationId)
      .executeTakeFirst();
    if (!head || head.canceled_at !== null || Number(head.expansion_done) === 1 || head.expansion_owner !== owner) {
      return { inserted: 0, tenants: [], accepted: false };
    }
    const unique = dedupe(rows);
    let seq = Number(head.next_seq);
    const scheduledAt = head.scheduled_at === null ? undefined : Date.parse(head.scheduled_at);
    const dueAt = scheduledAt !== undefined && scheduledAt > now ? scheduledAt : now;
    const inserted: { status: string; tenant_id: string }[] = [];
    for (const part of chunk(unique, rowsPerInsert)) {
      const got = await insertDeliveries(
        trx,
        dialect,
        part.map((d) => newDeliveryRow(notificationId, seq++, d, dueAt, now)),
      );
      for (const r of got) inserted.push(r);
    }
    if (window) {
      // The window's other active chats, built by the database (chat-window.ts); its seqs may skip
      // the recipients it found already written, so the next page starts after the highest.
      const got = await insertWindowRows(trx, dialect, notificationId, seq, window, dueAt, now).execute();
      for (const r of got) {
        inserted.push(r);
        seq = Math.max(seq, Number(r.seq) + 1);
      }
    }
    const delta = { ...countStatuses(inserted.map((r) => r.status)) };
    const tenants = [...new Set(inserted.map((r) => r.tenant_id))];
    await insertTenants(
      trx,
      notificationId,
      tenants.map((tenantId) => ({ tenantId })),
    );
    await addToCounters(trx, notificationId, { ...delta }, iso(now));
    await trx
      .updateTable("notifications")
      .set({
        next_seq: seq,
        total: (eb) => eb("total", "+", inserted.length),
        expansion_cursor: JSON.stringify(progress.cursor ?? null),
        expansion_done: progress.done ? 1 : 0,
        expansion_owner: progress.done ? null : owner,
        updated_at: iso(now),
      })
      .where("id", "=", notificationId)
      .execute();
    return { inserted: inserted.length, tenants, accepted: true };
  });
}

/** The notification of `(createdBy, idempotencyKey)`, if any. */
export async function findByKey(
  db: Kysely<AllTables>,
  input: Pick<NewNotification, "createdBy" | "idempotencyKey">,
): Promise<Notification | undefined> {
  if (input.idempotencyKey === undefined) return undefined;
  const row = await db
    .selectFrom("notifications")
    .selectAll()
    .where("created_by", "=", input.createdBy)
    .where("idempotency_key", "=", input.idempotencyKey)
    .executeTakeFirst();
  return row && rowToNotification(row);
}

async function insertTenants(db: Kysely<AllTables>, notificationId: string, rows: readonly { tenantId: string }[]): Promise<void> {
  const tenants = [...new Set(rows.map((r) => r.tenantId))];
  for (const part of chunk(tenants, rowsPerInsert)) {
    await db
      .insertInto("notification_tenants")
      .values(part.map((tenant_id) => ({ notification_id: notificationId, tenant_id })))
      .onConflict((oc) => oc.columns(["notification_id", "tenant_id"]).doNothing())
      .execute();
  }
}

/** The first row of each recipient key, in order. */
function dedupe(rows: readonly NewDelivery[]): NewDelivery[] {
  const seen = new Set<string>();
  const out: NewDelivery[] = [];
  for (const r of rows) {
    if (seen.has(r.recipientKey)) continue;
    seen.add(r.recipientKey);
    out.push(r);
  }
  return out;
}

/** PostgreSQL 23505 or SQLite's UNIQUE constraint failure. */
function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err.code === "23505" || (err.code?.startsWith("SQLITE_CONSTRAINT") ?? false) || /UNIQUE constraint failed/.test(err.message ?? "");
}
