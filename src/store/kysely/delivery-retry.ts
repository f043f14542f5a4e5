import type { Kysely } from "kysely";
import type { RetryOutcome } from "../../delivery/store/port.js";
import type { StoreDialect } from "./backend.js";
import { rowToNotification } from "./delivery-rows.js";
import type { AllTables } from "./delivery-schema.js";
import { addToCounters, lockNotifications } from "./delivery-sql.js";

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * `POST /v1/notifications/{id}/retry`: rows that ended `failed` (and `unknown` when asked) are
 * sent again, in one transaction with their counters; a completed notification is `sending`
 * again until they end. Rows Herald could never send (no tenant: an unknown conversation or
 * team; a team whose roster failed) stay as they are. Retrying again while they are pending
 * finds nothing more to do.
 */
export async function requestRetry(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  id: string,
  statuses: readonly ("failed" | "unknown")[],
  now: number,
): Promise<RetryOutcome> {
  const nowIso = iso(now);
  return db.transaction().execute(async (trx) => {
    const state = (await lockNotifications(trx, dialect, [id])).get(id);
    if (!state) return { ok: false, reason: "notFound" } as const;
    if (state.canceled) return { ok: false, reason: "canceled" } as const;
    // One update per status, so the counters know how many of each went back to `pending`.
    const tenants = new Set<string>();
    const delta = { pending: 0, failed: 0, unknown: 0 };
    for (const status of statuses) {
      const rows = await trx
        .updateTable("deliveries")
        .set({
          status: "pending",
          op: "send",
          queue: "ready",
          due_at: now,
          attempts: 0,
          first_attempt_at: null,
          lease_owner: null,
          updated_at: nowIso,
        })
        .where("notification_id", "=", id)
        .where("status", "=", status)
        .where("tenant_id", "<>", "")
        .where("kind", "<>", "team")
        .returning("tenant_id")
        .execute();
      for (const r of rows) tenants.add(r.tenant_id);
      delta[status] -= rows.length;
      delta.pending += rows.length;
    }
    if (delta.pending > 0) {
      await addToCounters(trx, id, delta, nowIso);
      await trx
        .updateTable("notifications")
        .set({ status: "sending", active: 1, completed_at: null, updated_at: nowIso })
        .where("id", "=", id)
        .where("status", "in", ["completed", "queued", "sending"])
        .execute();
    }
    const row = await trx.selectFrom("notifications").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
    return {
      ok: true,
      notification: rowToNotification(row),
      retried: delta.pending,
      tenants: [...tenants],
    } as const;
  });
}
