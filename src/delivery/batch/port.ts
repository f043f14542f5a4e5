/**
 * What the batch path keeps in the store, with no table of its own: the delivery rows carry it.
 * A row taken into a batch leaves the dispatcher's queue (`queue = 'batch'`, never claimed,
 * leased or recovered by it) and names its operation in `lastErrorCode`/`lastErrorMessage`:
 * - `batch/submitting` + a Herald submit id: written BEFORE the request leaves;
 * - `batch/running` + Teams' operation id: written as soon as Teams answers 201, so a restart
 *   polls that operation again instead of sending a second time;
 * - settled rows end `sent` with `batch/sent` and words saying no activity id exists, or with
 *   the outcome of their failed entry.
 * A taken row carries its process in `lease_owner` (as a claimed row does): a live process never
 * touches another's batch rows; once the owner's heartbeat is stale (judged as the individual
 * path judges leases, on the database's clock with PostgreSQL), a live process's sweep adopts its
 * operations (`adoptOperations`) and applies HERALD_IN_FLIGHT_POLICY to its unanswered submits
 * (`recoverSubmits`), one taker per row (the notification's lock orders them).
 */

import type { InFlightPolicy } from "../model.js";

/** Row codes of the batch path. */
export const batchCodes = {
  submitting: "batch/submitting",
  running: "batch/running",
  sent: "batch/sent",
} as const;

/** A row taken into a batch: enough to name its recipient to Teams. */
export interface BatchRow {
  seq: number;
  tenantId: string;
  kind: string;
  serviceUrl: string | undefined;
  conversationId: string | undefined;
  targetId: string | undefined;
  userId: string | undefined;
}

/** An operation some rows wait on. */
export interface RunningOperation {
  notificationId: string;
  operationId: string;
  tenantId: string;
  serviceUrl: string | undefined;
  rows: BatchRow[];
}

/** A row's final outcome. */
export interface BatchOutcome {
  status: "sent" | "failed" | "blocked" | "notFound" | "unknown" | "canceled";
  code: string;
  message: string;
}

/**
 * Who is alive, for the recovery of batch rows: `self`, and every process whose heartbeat is at
 * or after `staleBefore` (on PostgreSQL measured as `now - staleBefore` back from the database's
 * own `now()`, as leases are). `othersAreDead`: a store one process owns (SQLite), where every
 * owner but `self` is a process that stopped.
 */
export interface BatchLiveness {
  self: string;
  staleBefore: number;
  now: number;
  othersAreDead: boolean;
  /** Others are judged only while `self` has a heartbeat at or after this time (DeliveryStore.recover's `selfBeatSince`). */
  selfBeatSince?: number | undefined;
  /**
   * Work of `self` that this process is doing now (submit ids being submitted, operation ids
   * being polled); rows of `self` not among them and older than `staleBefore` are orphans (a
   * follow that failed) and are recovered like a dead process's.
   */
  busy: ReadonlySet<string>;
  /** Also rows without an owner (taken by a Herald before owners were recorded), judged by their age. */
  unowned: boolean;
}

/** Rows moved by `recoverSubmits`, per submit. */
export interface RecoveredSubmit {
  notificationId: string;
  submitId: string;
  rows: number;
}

/** A batch notification as a recall meets it (`BatchStore.recallView`). */
export interface BatchRecallView {
  /** Operations some of its pending rows wait on. */
  operations: { operationId: string; tenantId: string; serviceUrl: string | undefined }[];
  /** Rows the batch path delivered: `sent` without an activity id, so they cannot be deleted. */
  sentWithoutActivityId: number;
}

/** A tenant with ready rows of a notification that a batch can name (BatchStore.readyTenants). */
export interface ReadyTenant {
  tenantId: string;
  /** Paused in the store (BotDisabledByAdmin): a take leaves its rows out. */
  paused: boolean;
  /** One of those rows is due (`due_at` and `not_before` passed): a take would find it, unless the tenant is paused. */
  due: boolean;
}

export interface BatchStore {
  /**
   * Take up to `limit` ready rows of the notification whose recipient a batch can name (a `29:`
   * user id, or a channel), oldest first, into the batch queue as `submitting` under
   * `submitId`, owned by `owner` (a worker id with a heartbeat: recovery judges the rows by it),
   * the notification locked; a queued notification becomes sending. The rows pass the single
   * send's claim-time checks first (opt-out after acceptance, quiet hours, working days, frequency
   * cap): held rows go back to the ready queue with `heldUntil`/`heldReason`, opted-out ones end
   * `optedOut`; neither is returned. Rows of a paused tenant (BotDisabledByAdmin: in `paused`, or
   * paused in the store) are not taken: they wait in the ready queue, as single sends' rows do.
   * `leftOut`, when given, is told those tenants: `paused` and the store's pauses as the take
   * read them, in its transaction just before it picks rows (on PostgreSQL a statement of its
   * own: a pause committed between the two is left out and not told).
   */
  take(
    notificationId: string,
    submitId: string,
    limit: number,
    now: number,
    owner?: string,
    paused?: readonly string[],
    leftOut?: (tenants: readonly string[]) => void,
  ): Promise<BatchRow[]>;
  /** Teams accepted the submit of rows `seqs` (taken under `submitId`): they wait on `operationId`. */
  started(notificationId: string, submitId: string, seqs: readonly number[], operationId: string, now: number): Promise<void>;
  /** A submit that never reached Teams: the rows `seqs` (undefined = all of the submit) go back to the ready queue at `dueAt`. */
  release(notificationId: string, submitId: string, seqs: readonly number[] | undefined, dueAt: number, now: number): Promise<void>;
  /**
   * Write final outcomes of the rows waiting on `key` (an operation id, or a submit id with
   * `submitting`), counters with them, in one transaction; rows not in `outcomes` get `rest`.
   * Rows already settled are left alone (a second settle changes nothing). Returns how many moved.
   */
  settle(
    notificationId: string,
    key: { operationId: string } | { submitId: string; seqs?: readonly number[] | undefined },
    outcomes: ReadonlyMap<number, BatchOutcome>,
    rest: BatchOutcome,
    now: number,
    /** Told, after the commit, how many rows each outcome status got (metrics). */
    tally?: (status: BatchOutcome["status"], rows: number) => void,
  ): Promise<number>;
  /** What a recall of the notification meets: its operations still running, and its copies sent by Teams' batch API (no activity id). */
  recallView(notificationId: string): Promise<BatchRecallView>;
  /** Operations some pending rows wait on (to poll after a restart). */
  running(): Promise<RunningOperation[]>;
  /**
   * Submits still `submitting` whose owner is dead (see BatchLiveness): Teams may or may not have
   * started them. `resend`: back to the ready queue, due now; `unknown`: they end with `outcome`
   * (counters with them). One transaction per notification, the owner judged inside each
   * statement, so two processes recovering at once move each row once.
   */
  recoverSubmits(live: BatchLiveness, policy: InFlightPolicy, outcome: BatchOutcome): Promise<RecoveredSubmit[]>;
  /**
   * Operations whose owner is dead (see BatchLiveness) become `self`'s: the rows name `self` as
   * owner, in one transaction per notification (locked), so exactly one live process adopts each
   * operation and polls it. Returns what was adopted.
   */
  adoptOperations(live: BatchLiveness): Promise<RunningOperation[]>;
  /** Notifications among `ids` that went through the batch path (a row of theirs carries a batch code). */
  batchNotifications(ids: readonly string[]): Promise<string[]>;
  /** Ready rows of the notification a batch can name, counted (0 = nothing left for the batch path). */
  readyCount(notificationId: string): Promise<number>;
  /**
   * The tenants with ready rows of the notification that a batch can name, in one statement with
   * the store's pauses. While some wait for a pause, the batch path keeps those tenants' rows of
   * the notification (the dispatcher sends the others); a due row of a tenant the batch path
   * kept back for a pause that is no longer paused is taken again, not handed to the dispatcher.
   */
  readyTenants(notificationId: string, now: number): Promise<ReadyTenant[]>;
}
