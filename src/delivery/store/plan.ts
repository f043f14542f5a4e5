import {
  type DeliveryOp,
  type DeliveryStatus,
  type JobResult,
  type LeasedKey,
  leasedKey,
  type QueueState,
  type RecallState,
} from "../model.js";

/**
 * How a batch of job results changes rows and counters, as a pure function: every store applies
 * the same rules, and they are tested without a database.
 *
 * Counter rules (the counts always add up to `total`):
 * - a send's row is `pending` until its outcome; `sent` / `failed` / `blocked` / `notFound` /
 *   `unknown` / `canceled` (a duplicate) move one from `pending` to that status; a retry or a release changes no count;
 * - a send to retry after a recall is `canceled` (`pending` − 1, `canceled` + 1), or `unknown` when
 *   its request may have reached Teams (no activity id came back: the recall cannot delete it);
 * - a send that lands after a recall is queued for a delete (`recall.pending` + 1); one that lands
 *   after an edit (its version is older than the notification's) is queued for an update
 *   (`edit.pending` + 1);
 * - an edit at the current version moves one from `edit.pending` to `edit.done`; at an older
 *   version (the message changed again meanwhile) it is queued again, no count changes;
 * - a delete moves one from `recall.pending` to `recall.done` (or `recall.failed`).
 * A counter change applies only when the row update hit (the row was still leased by the writer).
 */

/** Counter columns of a notification. */
export type Counter = DeliveryStatus | "editPending" | "editDone" | "editFailed" | "recallPending" | "recallDone" | "recallFailed";

export type CounterDelta = Partial<Record<Counter, number>>;

/** The new values of a row. `undefined` in a "keep" field leaves the stored value. */
export interface RowChange {
  /** The row and the lease the change applies under (a row leased anew since is left alone). */
  key: LeasedKey;
  status: DeliveryStatus;
  op: DeliveryOp | null;
  queue: QueueState | null;
  dueAt: number | null;
  attempts: number;
  firstAttemptAt: number | null;
  /** Keep when undefined. */
  activityId?: string | undefined;
  conversationId?: string | undefined;
  serviceUrl?: string | undefined;
  appliedVersion?: number | undefined;
  recallState?: RecallState | undefined;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  /** ISO time; keep when undefined. */
  sentAt?: string | undefined;
  delta: CounterDelta;
}

/** What the plan needs to know about each notification touched (read under lock). */
export interface NotificationState {
  version: number;
  recalled: boolean;
}

/** Results that change a row's outcome (a release only returns the row to the pool; the store does that apart). */
export type OutcomeResult = Exclude<JobResult, { kind: "release" }>;

/** Plan the row changes of `results`; `states` must hold every notification they name. */
export function planResults(results: readonly OutcomeResult[], states: ReadonlyMap<string, NotificationState>, now: number): RowChange[] {
  const at = new Date(now).toISOString();
  return results.map((r) => {
    const state = states.get(r.notificationId) ?? { version: 1, recalled: false };
    const key = leasedKey(r);
    switch (r.kind) {
      case "sent": {
        const base = {
          key,
          status: "sent" as const,
          activityId: r.activityId,
          conversationId: r.conversationId,
          serviceUrl: r.serviceUrl,
          sentAt: at,
        };
        const delta: CounterDelta = { pending: -1, sent: 1 };
        if (state.recalled && r.activityId !== undefined) {
          return {
            ...base,
            ...followUp("delete", now),
            appliedVersion: r.version,
            recallState: "pending",
            delta: { ...delta, recallPending: 1 },
          };
        }
        if (r.version < state.version && r.activityId !== undefined) {
          return { ...base, ...followUp("edit", now), appliedVersion: r.version, delta: { ...delta, editPending: 1 } };
        }
        // The common case, every send of a broadcast: one literal, no spreads (they showed in profiles).
        return {
          key,
          status: "sent",
          op: null,
          queue: null,
          dueAt: null,
          attempts: r.attempts,
          firstAttemptAt: null,
          activityId: r.activityId,
          conversationId: r.conversationId,
          serviceUrl: r.serviceUrl,
          sentAt: at,
          appliedVersion: r.version,
          delta,
        };
      }
      case "retry":
        // A send to retry after its notification was recalled is not made: canceled, or unknown if Teams may have it.
        if (state.recalled && r.op === "send" && r.inDoubt)
          return {
            key,
            status: "unknown",
            ...done(r.attempts),
            errorCode: r.error.code,
            errorMessage: `${r.error.message} The notification was recalled meanwhile: not sent again. Teams may have received it; without an activity id the recall cannot delete that copy.`,
            delta: { pending: -1, unknown: 1 },
          };
        if (state.recalled && r.op === "send")
          return {
            key,
            status: "canceled",
            ...done(r.attempts),
            errorCode: r.error.code,
            errorMessage: r.error.message,
            delta: { pending: -1, canceled: 1 },
          };
        return {
          key,
          status: r.op === "send" ? "pending" : "sent",
          op: r.op,
          queue: "ready",
          dueAt: r.dueAt,
          attempts: r.attempts,
          firstAttemptAt: r.firstAttemptAt,
          conversationId: r.conversationId,
          serviceUrl: r.serviceUrl,
          errorCode: r.error.code,
          errorMessage: r.op === "send" && r.inDoubt ? `${r.error.message} ${inDoubtNote}` : r.error.message,
          delta: {},
        };
      case "final":
        return {
          key,
          status: r.status,
          ...done(r.attempts),
          conversationId: r.conversationId,
          errorCode: r.error.code,
          errorMessage: r.error.message,
          delta: { pending: -1, [r.status]: 1 },
        };
      case "edited":
        if (r.version < state.version) return { key, status: "sent", ...followUp("edit", now), appliedVersion: r.version, delta: {} };
        return { key, status: "sent", ...done(r.attempts), appliedVersion: r.version, delta: { editPending: -1, editDone: 1 } };
      case "editFailed":
        return {
          key,
          status: "sent",
          ...done(r.attempts),
          errorCode: r.error.code,
          errorMessage: r.error.message,
          delta: { editPending: -1, editFailed: 1 },
        };
      case "deleted":
        return { key, status: "sent", ...done(r.attempts), recallState: "done", delta: { recallPending: -1, recallDone: 1 } };
      case "deleteFailed":
        return {
          key,
          status: "sent",
          ...done(r.attempts),
          recallState: "failed",
          errorCode: r.error.code,
          errorMessage: r.error.message,
          delta: { recallPending: -1, recallFailed: 1 },
        };
      default: {
        const unexpected: never = r;
        throw new Error(`unexpected result ${JSON.stringify(unexpected)}`);
      }
    }
  });
}

/**
 * Ends the message of a send waiting for its retry whose last request may have reached Teams
 * (no answer came, retried under HERALD_IN_FLIGHT_POLICY=resend): a recall meanwhile ends such a
 * row `unknown`, not `canceled` (delivery-control.ts `requestRecall`). No `%` in it (a LIKE pattern).
 */
export const inDoubtNote =
  "Teams may have received this attempt (no usable answer came); it is sent again (HERALD_IN_FLIGHT_POLICY=resend).";

const done = (attempts: number) => ({ op: null, queue: null, dueAt: null, attempts, firstAttemptAt: null });
const followUp = (op: DeliveryOp, now: number) => ({ op, queue: "ready" as const, dueAt: now, attempts: 0, firstAttemptAt: null });

/** Sum the deltas of the changes that hit, per notification. */
export function sumDeltas(changes: readonly RowChange[], hit: (key: LeasedKey) => boolean): Map<string, CounterDelta> {
  const out = new Map<string, CounterDelta>();
  for (const c of changes) {
    if (!hit(c.key)) continue;
    let sum = out.get(c.key.notificationId);
    if (!sum) {
      sum = {};
      out.set(c.key.notificationId, sum);
    }
    for (const [k, v] of Object.entries(c.delta) as [Counter, number][]) sum[k] = (sum[k] ?? 0) + v;
  }
  return out;
}
