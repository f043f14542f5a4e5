import { type Kysely, sql } from "kysely";
import type {
  BlockedEntry,
  Delivery,
  DeliveryStatus,
  InFlightPolicy,
  Job,
  JobResult,
  LeasedKey,
  NewDelivery,
  Notification,
  Page,
  RecoveryResult,
  RowError,
} from "../../delivery/model.js";
import type {
  ActiveNotification,
  ChatWindow,
  DeliveryStore,
  EditOutcome,
  NewNotification,
  NotificationFilter,
  PageRequest,
  RetryOutcome,
  TenantPause,
  TenantState,
  WorkBatch,
  WorkBatchResult,
} from "../../delivery/store/port.js";
import type { SqlBackend } from "./backend.js";
import { claimChat } from "./delivery-chat.js";
import * as control from "./delivery-control.js";
import * as create from "./delivery-create.js";
import type { HoldSettings } from "./delivery-holds.js";
import * as read from "./delivery-read.js";
import * as retry from "./delivery-retry.js";
import { type AllTables, withDeliveryTables } from "./delivery-schema.js";
import * as tenants from "./delivery-tenants.js";
import * as work from "./delivery-work.js";
import { KyselyRecipientDirectory } from "./recipients.js";

/**
 * The delivery store over Kysely: the same code for SQLite and PostgreSQL. The work is in
 * delivery-create.ts (notifications and expansion pages), delivery-work.ts (claims, in-flight
 * marks, results), delivery-control.ts (edit, recall, pauses, liveness and crash recovery) and
 * delivery-read.ts (reads and listings); this class only routes.
 */
export class KyselyDeliveryStore implements DeliveryStore {
  readonly shared: boolean;
  readonly recipients: KyselyRecipientDirectory;
  private readonly db: Kysely<AllTables>;
  private holds: HoldSettings = {};
  /**
   * The lease number of this store's last claim (023_delivery_lease_ids). Owners are unique per
   * process run; starting from the clock's ms keeps numbers unused even by a later run under the
   * same owner name (tests pin names), as long as it claims under a thousand times a second on average.
   */
  private lastLease = Date.now();
  /**
   * Leases of claims that failed and may have taken rows, with their owner and notification
   * (work.releaseLease): given back in the background, one give-back at a time, retried every
   * second until it goes through. Never awaited by a claim: a give-back waiting for a lock (a
   * recall's transaction on those rows) must not hold every lane's claims.
   */
  private readonly stranded = new Map<number, { owner: string; notificationId: string }>();
  private givingBack: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly backend: SqlBackend) {
    this.db = withDeliveryTables(backend.db);
    this.shared = backend.dialect === "postgres";
    this.recipients = new KyselyRecipientDirectory(this.db, backend.dialect);
  }

  async databaseNow(): Promise<number | undefined> {
    if (this.backend.dialect !== "postgres") return undefined;
    const { rows } = await sql<{ ms: number | string }>`select (extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(
      this.db,
    );
    const ms = Number(rows[0]?.ms);
    if (!Number.isFinite(ms)) throw new Error("PostgreSQL did not answer its clock_timestamp()");
    return ms;
  }

  createNotification(input: NewNotification, rows: readonly NewDelivery[]): Promise<{ notification: Notification; created: boolean }> {
    return create.createNotification(this.db, input, rows);
  }

  findByIdempotencyKey(createdBy: string, idempotencyKey: string): Promise<Notification | undefined> {
    return create.findByKey(this.db, { createdBy, idempotencyKey });
  }

  getNotification(id: string): Promise<Notification | undefined> {
    return read.getNotification(this.db, id);
  }

  listNotifications(filter: NotificationFilter, page: PageRequest): Promise<Page<Notification>> {
    return read.listNotifications(this.db, filter, page);
  }

  activeWork(now: number): Promise<ActiveNotification[]> {
    return work.activeWork(this.db, now);
  }

  claimExpansion(notificationId: string, owner: string, now: number): Promise<{ cursor: unknown } | undefined> {
    return work.claimExpansion(this.db, notificationId, owner, now);
  }

  appendDeliveries(
    notificationId: string,
    owner: string,
    rows: readonly NewDelivery[],
    progress: { cursor: unknown; done: boolean },
    now: number,
    window?: ChatWindow,
  ): Promise<{ inserted: number; tenants: string[]; accepted: boolean }> {
    return create.appendDeliveries(this.db, this.backend.dialect, notificationId, owner, rows, progress, now, window);
  }

  async claim(owner: string, notificationId: string, tenantId: string, now: number, limit: number): Promise<Job[]> {
    const lease = ++this.lastLease;
    try {
      return await work.claim(this.db, this.backend.dialect, owner, lease, notificationId, tenantId, now, limit, this.holds);
    } catch (e) {
      // Its rows may be claimed all the same: they are given back (`stranded`).
      this.stranded.set(lease, { owner, notificationId });
      this.giveBack();
      throw e;
    }
  }

  /** Give back the stranded leases' rows, in the background; again every second until none is left or the store closes. */
  private giveBack(): void {
    if (this.givingBack || this.closed) return;
    this.givingBack = (async () => {
      while (this.stranded.size > 0 && !this.closed) {
        try {
          for (const [lease, { owner, notificationId }] of this.stranded) {
            await work.releaseLease(this.db, owner, notificationId, lease, Date.now());
            this.stranded.delete(lease);
          }
        } catch {
          await new Promise((r) => setTimeout(r, 1_000).unref());
        }
      }
    })().finally(() => {
      this.givingBack = undefined;
    });
  }

  /** No more give-backs (the store is closing): a stop retires the process, which gives back every claimed row of it anyway. */
  close(): void {
    this.closed = true;
  }

  /** Settings of the claim-time holds (HERALD_FREQUENCY_CAP); quiet hours are per tenant, in the store. */
  configureHolds(settings: HoldSettings): void {
    this.holds = { ...settings };
  }

  /** The hold settings `configureHolds` gave (the batch path's take applies the same). */
  holdSettings(): HoldSettings {
    return this.holds;
  }

  nextDue(notificationId: string, tenantId: string): Promise<number | undefined> {
    return work.nextDue(this.db, notificationId, tenantId);
  }

  markInflight(owner: string, keys: readonly LeasedKey[], now: number): Promise<LeasedKey[]> {
    return work.markInflight(this.db, this.backend.dialect, owner, keys, now);
  }

  recordResults(owner: string, results: readonly JobResult[], now: number): Promise<Map<string, number>> {
    return work.recordResults(this.db, this.backend.dialect, owner, results, now);
  }

  claimChat(
    owner: string,
    key: LeasedKey,
    chat: { conversationId: string; serviceUrl: string },
    now: number,
  ): Promise<{ duplicateOf?: number }> {
    return claimChat(this.db, this.backend.dialect, owner, key, chat, now);
  }

  writeBatch(owner: string, batch: WorkBatch, now: number): Promise<WorkBatchResult> {
    return work.writeBatch(this.db, this.backend.dialect, owner, batch, now);
  }

  finishIfDone(ids: readonly string[], now: number): Promise<string[]> {
    return work.finishIfDone(this.db, ids, now);
  }

  requestEdit(id: string, message: unknown, now: number): Promise<EditOutcome> {
    return control.requestEdit(this.db, this.backend.dialect, id, message, now);
  }

  requestRetry(id: string, statuses: readonly ("failed" | "unknown")[], now: number): Promise<RetryOutcome> {
    return retry.requestRetry(this.db, this.backend.dialect, id, statuses, now);
  }

  requestRecall(id: string, now: number): Promise<Notification | undefined> {
    return control.requestRecall(this.db, this.backend.dialect, id, now);
  }

  listDeliveries(notificationId: string, filter: { status?: DeliveryStatus | undefined }, page: PageRequest): Promise<Page<Delivery>> {
    return read.listDeliveries(this.db, notificationId, filter, page);
  }

  pauseTenant(tenantId: string, code: string, now: number): Promise<void> {
    return control.pauseTenant(this.db, tenantId, code, now);
  }

  resumeTenant(tenantId: string): Promise<boolean> {
    return control.resumeTenant(this.db, tenantId);
  }

  pausedTenants(): Promise<string[]> {
    return control.pausedTenants(this.db);
  }

  tenantPauses(): Promise<TenantPause[]> {
    return tenants.tenantPauses(this.db);
  }

  tenantStates(filter: { tenantIds?: readonly string[] | undefined; disabledOnly?: boolean | undefined }): Promise<TenantState[]> {
    return tenants.tenantStates(this.db, filter);
  }

  expireTenantRows(tenantId: string, error: RowError, before: number, now: number): Promise<{ failed: number; finished: string[] }> {
    return tenants.expireTenantRows(this.db, this.backend.dialect, tenantId, error, before, now);
  }

  heartbeat(owner: string, now: number): Promise<void> {
    return control.heartbeat(this.db, this.backend.dialect, owner, now);
  }

  recover(
    self: string,
    staleBefore: number,
    policy: InFlightPolicy,
    now: number,
    othersAreDead: boolean,
    selfBeatSince?: number,
  ): Promise<RecoveryResult> {
    return control.recover(this.db, this.backend.dialect, self, staleBefore, policy, now, othersAreDead, selfBeatSince);
  }

  retire(owner: string, now: number, keepWorker?: boolean): Promise<void> {
    return control.retire(this.db, owner, now, keepWorker);
  }

  blockedReport(filter: { tenantIds?: readonly string[] | undefined }, page: PageRequest): Promise<Page<BlockedEntry>> {
    return read.blockedReport(this.db, filter, page);
  }
}
