import { type ExpressionBuilder, type Kysely, sql } from "kysely";
import {
  type BatchLiveness,
  type BatchOutcome,
  type BatchRecallView,
  type BatchRow,
  type BatchStore,
  batchCodes,
  type ReadyTenant,
  type RecoveredSubmit,
  type RunningOperation,
} from "../../delivery/batch/port.js";
import type { InFlightPolicy } from "../../delivery/model.js";
import type { CounterDelta } from "../../delivery/store/plan.js";
import type { StoreDialect } from "./backend.js";
import { adoptOperations, recoverSubmits } from "./batch-recovery.js";
import { applyHolds, type HoldSettings } from "./delivery-holds.js";
import type { DeliveryRow, JobRow } from "./delivery-rows.js";
import type { AllTables } from "./delivery-schema.js";
import { addToCounters, chunk, endedWith, lockNotifications, rowsPerStatement } from "./delivery-sql.js";
import { finishIfDone } from "./delivery-work.js";

const iso = (ms: number): string => new Date(ms).toISOString();
/** A flag as either database answers it: PostgreSQL a boolean (or a number from max), SQLite 0 or 1. */
const truthy = (v: unknown): boolean => v === true || Number(v) === 1;

/** A row a batch can name: a channel, or a `29:` user id (a stored 1:1 chat's user, or the id the audience gave). */
const batchable = (eb: ExpressionBuilder<AllTables, "deliveries">) =>
  eb.or([eb("kind", "=", "channel"), eb("user_id", "like", "29:%"), eb("target_id", "like", "29:%")]);

type Row = {
  seq: number | string;
  tenant_id: string;
  kind: string;
  service_url: string | null;
  conversation_id: string | null;
  target_id: string | null;
  user_id: string | null;
};

const toBatchRow = (r: Row): BatchRow => ({
  seq: Number(r.seq),
  tenantId: r.tenant_id,
  kind: r.kind,
  serviceUrl: r.service_url ?? undefined,
  conversationId: r.conversation_id ?? undefined,
  targetId: r.target_id ?? undefined,
  userId: r.user_id ?? undefined,
});

/** Rows by tenant (the holds read one tenant's settings at a time). */
function byTenant(rows: readonly DeliveryRow[]): Map<string, DeliveryRow[]> {
  const out = new Map<string, DeliveryRow[]>();
  for (const r of rows) out.set(r.tenant_id, [...(out.get(r.tenant_id) ?? []), r]);
  return out;
}

/**
 * A row whose tenant is not paused (BotDisabledByAdmin): not in `paused` (the process's view,
 * which knows its own pause at once) nor in `paused_tenants` (another process's, at once too).
 */
const notPaused = (paused: readonly string[]) => (eb: ExpressionBuilder<AllTables, "deliveries">) =>
  eb.and([
    eb.not(
      eb.exists(
        eb.selectFrom("paused_tenants").select(sql.lit(1).as("one")).whereRef("paused_tenants.tenant_id", "=", "deliveries.tenant_id"),
      ),
    ),
    ...(paused.length > 0 ? [eb("deliveries.tenant_id", "not in", [...paused])] : []),
  ]);

const columns = ["seq", "tenant_id", "kind", "service_url", "conversation_id", "target_id", "user_id"] as const;

/** The batch path's rows (delivery/batch/port.ts) in the deliveries table: no table of its own. */
export class KyselyBatchStore implements BatchStore {
  /** `holds`: the process's hold settings (the frequency cap), read at each take; quiet hours are per tenant, in the store. */
  constructor(
    private readonly db: Kysely<AllTables>,
    private readonly dialect: StoreDialect,
    private readonly holds: () => HoldSettings = () => ({}),
  ) {}

  /**
   * Rows pass the same claim-time checks as a single send's claim (delivery-holds.ts
   * `applyHolds`): an opt-out made after acceptance ends the row `optedOut`; quiet hours, working
   * days and the frequency cap put it back in the ready queue at its next allowed moment
   * (`held_until`, `held_reason`), to be sent then by whichever path takes it (the batch path
   * while it still runs for the notification, else the dispatcher, one by one). Three steps:
   * the rows are claimed under the process's worker id (`worker`; its heartbeat keeps the claim
   * alive, and a process dying here leaves them claimed by a dead owner, which recovery gives back
   * to the ready queue), the holds
   * run (their own transactions), and the rows kept move to the batch queue as `submitting`,
   * the notification locked. A chunk held whole is followed by the next one, so held rows do not
   * end the batch path early.
   */
  async take(
    notificationId: string,
    submitId: string,
    limit: number,
    now: number,
    worker?: string,
    paused: readonly string[] = [],
    leftOut?: (tenants: readonly string[]) => void,
  ): Promise<BatchRow[]> {
    const owner = worker ?? `batch:${submitId}`;
    for (;;) {
      const claimed = await this.claimRows(notificationId, owner, limit, now, paused, leftOut);
      if (claimed.length === 0) return [];
      const kept: JobRow[] = [];
      let optedOut = 0;
      for (const [tenantId, rows] of byTenant(claimed)) {
        const r = await applyHolds(this.db, this.dialect, owner, rows, notificationId, tenantId, now, this.holds());
        kept.push(...r.kept);
        optedOut += r.optedOut;
      }
      const taken = kept.length === 0 ? [] : await this.intoBatch(notificationId, owner, submitId, kept, now);
      // Rows that ended optedOut may have been the last ones pending.
      if (optedOut > 0) await finishIfDone(this.db, [notificationId], now);
      if (taken.length > 0 || claimed.length < limit) return taken.map(toBatchRow);
    }
  }

  /** Ready rows a batch can name, oldest first, of tenants not paused, claimed under `owner` (the notification locked); none once it is canceled. */
  private claimRows(
    notificationId: string,
    owner: string,
    limit: number,
    now: number,
    paused: readonly string[],
    leftOut: ((tenants: readonly string[]) => void) | undefined,
  ): Promise<DeliveryRow[]> {
    return this.db.transaction().execute(async (trx) => {
      const locked = await lockNotifications(trx, this.dialect, [notificationId]);
      const n = locked.get(notificationId);
      if (!n || n.canceled) return [];
      if (leftOut) leftOut([...paused, ...(await trx.selectFrom("paused_tenants").select("tenant_id").execute()).map((r) => r.tenant_id)]);
      const picked = await trx
        .selectFrom("deliveries")
        .selectAll()
        .where("notification_id", "=", notificationId)
        .where("queue", "=", "ready")
        .where("status", "=", "pending")
        .where("due_at", "<=", now)
        .where((eb) => eb.or([eb("not_before", "is", null), eb("not_before", "<=", iso(now))]))
        .where((eb) => eb.or([eb("retry_blocked", "is", null), eb("retry_blocked", "=", 0)]))
        .where(batchable)
        .where(notPaused(paused))
        .orderBy("seq")
        .limit(limit)
        // The dispatcher claims ready rows too (one by one, FOR UPDATE SKIP LOCKED): rows it holds are
        // skipped, and the rows picked here are held until the claim commits, so no row is claimed by both.
        .$if(this.dialect === "postgres", (q) => q.forUpdate().skipLocked())
        .execute();
      const claimed = new Set<number>();
      for (const part of chunk(
        picked.map((r) => Number(r.seq)),
        rowsPerStatement,
      )) {
        const rows = await trx
          .updateTable("deliveries")
          // lease_id null: no dispatcher write (which names its claim's lease) may apply to this lease.
          .set({ queue: "claimed", lease_owner: owner, lease_id: null, updated_at: iso(now) })
          .where("notification_id", "=", notificationId)
          .where("seq", "in", part)
          .where("queue", "=", "ready")
          .returning("seq")
          .execute();
        for (const r of rows) claimed.add(Number(r.seq));
      }
      return picked.filter((r) => claimed.has(Number(r.seq))).map((r) => ({ ...r, queue: "claimed", lease_owner: owner }));
    });
  }

  /**
   * Rows `owner` still holds (a recall cancels claimed rows, a recovery may have given them
   * back) → the batch queue, `submitting` under `submitId`; a queued notification becomes sending.
   */
  private intoBatch(notificationId: string, owner: string, submitId: string, kept: readonly JobRow[], now: number) {
    return this.db.transaction().execute(async (trx) => {
      await lockNotifications(trx, this.dialect, [notificationId]);
      const moved = new Set<number>();
      for (const part of chunk(
        kept.map((r) => Number(r.seq)),
        rowsPerStatement,
      )) {
        const rows = await trx
          .updateTable("deliveries")
          .set({
            queue: "batch",
            op: "send",
            due_at: null,
            lease_owner: owner ?? null,
            lease_id: null,
            last_error_code: batchCodes.submitting,
            last_error_message: submitId,
            updated_at: iso(now),
          })
          .where("notification_id", "=", notificationId)
          .where("seq", "in", part)
          .where("queue", "=", "claimed")
          .where("lease_owner", "=", owner)
          .where("status", "=", "pending")
          .returning("seq")
          .execute();
        for (const r of rows) moved.add(Number(r.seq));
      }
      if (moved.size > 0)
        await trx
          .updateTable("notifications")
          .set({ status: "sending", started_at: iso(now), updated_at: iso(now) })
          .where("id", "=", notificationId)
          .where("status", "=", "queued")
          .execute();
      return kept.filter((r) => moved.has(Number(r.seq)));
    });
  }

  async started(notificationId: string, submitId: string, seqs: readonly number[], operationId: string, now: number): Promise<void> {
    for (const part of chunk(seqs, rowsPerStatement)) {
      await this.db
        .updateTable("deliveries")
        .set({ last_error_code: batchCodes.running, last_error_message: operationId, updated_at: iso(now) })
        .where("notification_id", "=", notificationId)
        .where("seq", "in", part)
        .where("queue", "=", "batch")
        .where("last_error_code", "=", batchCodes.submitting)
        .where("last_error_message", "=", submitId)
        .execute();
    }
  }

  async release(notificationId: string, submitId: string, seqs: readonly number[] | undefined, dueAt: number, now: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // Recalled while the rows were out of the pool (as the dispatcher's release): a send not made is canceled, never made later.
      const recalled = (await lockNotifications(trx, this.dialect, [notificationId])).get(notificationId)?.canceled === true;
      let canceled = 0;
      for (const part of seqs ? chunk(seqs, rowsPerStatement) : [undefined]) {
        const r = await trx
          .updateTable("deliveries")
          .set(
            recalled
              ? {
                  status: "canceled",
                  op: null,
                  queue: null,
                  due_at: null,
                  lease_owner: null,
                  last_error_code: null,
                  last_error_message: null,
                  updated_at: iso(now),
                }
              : { queue: "ready", due_at: dueAt, lease_owner: null, last_error_code: null, last_error_message: null, updated_at: iso(now) },
          )
          .where("notification_id", "=", notificationId)
          .$if(part !== undefined, (q) => q.where("seq", "in", part ?? []))
          .where("queue", "=", "batch")
          .where("status", "=", "pending")
          .where("last_error_code", "=", batchCodes.submitting)
          .where("last_error_message", "=", submitId)
          .executeTakeFirst();
        canceled += recalled ? Number(r.numUpdatedRows) : 0;
      }
      if (canceled > 0) await addToCounters(trx, notificationId, { pending: -canceled, canceled }, iso(now));
    });
  }

  async settle(
    notificationId: string,
    key: { operationId: string } | { submitId: string; seqs?: readonly number[] | undefined },
    outcomes: ReadonlyMap<number, BatchOutcome>,
    rest: BatchOutcome,
    now: number,
    tally?: (status: BatchOutcome["status"], rows: number) => void,
  ): Promise<number> {
    const code = "operationId" in key ? batchCodes.running : batchCodes.submitting;
    const id = "operationId" in key ? key.operationId : key.submitId;
    let written: CounterDelta = {};
    const moved = await this.db.transaction().execute(async (trx) => {
      await lockNotifications(trx, this.dialect, [notificationId]);
      let waiting = await trx
        .selectFrom("deliveries")
        .select(["seq"])
        .where("notification_id", "=", notificationId)
        .where("queue", "=", "batch")
        .where("status", "=", "pending")
        .where("last_error_code", "=", code)
        .where("last_error_message", "=", id)
        .execute();
      const only = "seqs" in key && key.seqs ? new Set(key.seqs) : undefined;
      if (only) waiting = waiting.filter((r) => only.has(Number(r.seq)));
      if (waiting.length === 0) return 0;
      // Rows grouped by outcome: one UPDATE per outcome and chunk, not one per row.
      const groups = new Map<string, { outcome: BatchOutcome; seqs: number[] }>();
      for (const { seq } of waiting) {
        const o = outcomes.get(Number(seq)) ?? rest;
        const k = `${o.status}\u0000${o.code}\u0000${o.message}`;
        let g = groups.get(k);
        if (!g) {
          g = { outcome: o, seqs: [] };
          groups.set(k, g);
        }
        g.seqs.push(Number(seq));
      }
      const delta: CounterDelta = { pending: -waiting.length };
      for (const { outcome, seqs } of groups.values()) {
        delta[outcome.status] = (delta[outcome.status] ?? 0) + seqs.length;
        for (const part of chunk(seqs, rowsPerStatement)) {
          await trx
            .updateTable("deliveries")
            .set(endedWith(outcome, iso(now)))
            .where("notification_id", "=", notificationId)
            .where("seq", "in", part)
            .execute();
        }
      }
      await addToCounters(trx, notificationId, delta, iso(now));
      written = delta;
      return waiting.length;
    });
    // After the commit: only rows really written are counted.
    if (tally)
      for (const [status, n] of Object.entries(written))
        if (status !== "pending" && n !== undefined && n > 0) tally(status as BatchOutcome["status"], n);
    return moved;
  }

  async recallView(notificationId: string): Promise<BatchRecallView> {
    const rows = await this.db
      .selectFrom("deliveries")
      .select(["last_error_message", "tenant_id", "service_url"])
      .distinct()
      .where("notification_id", "=", notificationId)
      .where("queue", "=", "batch")
      .where("status", "=", "pending")
      .where("last_error_code", "=", batchCodes.running)
      .execute();
    const operations = new Map<string, BatchRecallView["operations"][number]>();
    for (const r of rows) {
      const operationId = r.last_error_message ?? "";
      if (!operations.has(operationId))
        operations.set(operationId, { operationId, tenantId: r.tenant_id, serviceUrl: r.service_url ?? undefined });
    }
    const sent = await this.db
      .selectFrom("deliveries")
      .select(sql<number | string>`count(*)`.as("n"))
      .where("notification_id", "=", notificationId)
      .where("status", "=", "sent")
      .where("activity_id", "is", null)
      .where("last_error_code", "=", batchCodes.sent)
      .executeTakeFirst();
    return { operations: [...operations.values()], sentWithoutActivityId: Number(sent?.n ?? 0) };
  }

  async running(): Promise<RunningOperation[]> {
    const rows = await this.db
      .selectFrom("deliveries")
      .select(["notification_id", "last_error_message", ...columns])
      .where("queue", "=", "batch")
      .where("status", "=", "pending")
      .where("last_error_code", "=", batchCodes.running)
      .orderBy("notification_id")
      .orderBy("seq")
      .execute();
    const ops = new Map<string, RunningOperation>();
    for (const r of rows) {
      const operationId = r.last_error_message ?? "";
      let op = ops.get(operationId);
      if (!op) {
        op = { notificationId: r.notification_id, operationId, tenantId: r.tenant_id, serviceUrl: r.service_url ?? undefined, rows: [] };
        ops.set(operationId, op);
      }
      op.rows.push(toBatchRow(r));
    }
    return [...ops.values()];
  }

  recoverSubmits(live: BatchLiveness, policy: InFlightPolicy, outcome: BatchOutcome): Promise<RecoveredSubmit[]> {
    return recoverSubmits(this.db, this.dialect, live, policy, outcome);
  }

  adoptOperations(live: BatchLiveness): Promise<RunningOperation[]> {
    return adoptOperations(this.db, this.dialect, live);
  }

  async batchNotifications(ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom("deliveries")
      .select("notification_id")
      .distinct()
      .where("notification_id", "in", ids)
      .where("last_error_code", "in", [batchCodes.submitting, batchCodes.running, batchCodes.sent])
      .execute();
    return rows.map((r) => r.notification_id);
  }

  async readyCount(notificationId: string): Promise<number> {
    const row = await this.db
      .selectFrom("deliveries")
      .select(sql<number | string>`count(*)`.as("n"))
      .where("notification_id", "=", notificationId)
      .where("queue", "=", "ready")
      .where("status", "=", "pending")
      .where((eb) => eb.or([eb("retry_blocked", "is", null), eb("retry_blocked", "=", 0)]))
      .where(batchable)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async readyTenants(notificationId: string, now: number): Promise<ReadyTenant[]> {
    const rows = await this.db
      .selectFrom("deliveries")
      .select((eb) => [
        "tenant_id",
        eb.fn
          .max(
            eb
              .case()
              .when(eb.and([eb("due_at", "<=", now), eb.or([eb("not_before", "is", null), eb("not_before", "<=", iso(now))])]))
              .then(1)
              .else(0)
              .end(),
          )
          .as("due"),
        eb.not(notPaused([])(eb)).as("paused"),
      ])
      .where("notification_id", "=", notificationId)
      .where("queue", "=", "ready")
      .where("status", "=", "pending")
      .where((eb) => eb.or([eb("retry_blocked", "is", null), eb("retry_blocked", "=", 0)]))
      .where(batchable)
      .groupBy("tenant_id")
      .execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, paused: truthy(r.paused), due: truthy(r.due) }));
  }
}
