/**
 * What the batch path keeps in the store, with no table of its own: the delivery rows carry it.
 * A row taken into a batch leaves the dispatcher's queue (`queue = 'batch'`, never claimed,
 * leased or recovered by it) and names its operation in `lastErrorCode`/`lastErrorMessage`:
 * - `batch/submitting` + a Herald submit id: written BEFORE the request leaves;
 * - `batch/running` + Teams' operation id: written as soon as Teams answers 201, so a restart
 *   polls that operation again instead of sending a second time;
 * - settled rows end `sent` with `batch/sent` and words saying no activity id exists, or with
 *   the outcome of their failed entry.
 * A `submitting` row whose process died is treated like an in-flight send (HERALD_IN_FLIGHT_POLICY).
 */

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

/** A batch notification as a recall meets it (`BatchStore.recallView`). */
export interface BatchRecallView {
  /** Operations some of its pending rows wait on. */
  operations: { operationId: string; tenantId: string; serviceUrl: string | undefined }[];
  /** Rows the batch path delivered: `sent` without an activity id, so they cannot be deleted. */
  sentWithoutActivityId: number;
}

export interface BatchStore {
  /**
   * Take up to `limit` ready rows of the notification whose recipient a batch can name (a `29:`
   * user id, or a channel), oldest first, into the batch queue as `submitting` under
   * `submitId`, the notification locked; a queued notification becomes sending. The rows pass
   * the single send's claim-time checks first (opt-out after acceptance, quiet hours, working
   * days, frequency cap): held rows go back to the ready queue with `heldUntil`/`heldReason`,
   * opted-out ones end `optedOut`; neither is returned. `worker`: the process's worker id (the
   * dispatcher's, whose heartbeat keeps the rows' claim alive while the holds run; recovery gives
   * a dead worker's claimed rows back to the ready queue).
   */
  take(notificationId: string, submitId: string, limit: number, now: number, worker?: string): Promise<BatchRow[]>;
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
  /** Submits whose rows still say `submitting` (their process may have died before Teams answered). */
  submitting(): Promise<{ notificationId: string; submitId: string; updatedAt: number }[]>;
  /** Notifications among `ids` that went through the batch path (a row of theirs carries a batch code). */
  batchNotifications(ids: readonly string[]): Promise<string[]>;
  /** Ready rows of the notification a batch can name, counted (0 = nothing left for the batch path). */
  readyCount(notificationId: string): Promise<number>;
}
