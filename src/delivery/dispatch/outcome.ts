import { ConnectorError } from "../../connector/errors.js";
import { RenderError } from "../message/errors.js";
import type { DeliveryOp, Job, JobResult, RowError } from "../model.js";
import { type AttemptState, decideRetry, type Failure, type RetryPolicy } from "../retry.js";

/**
 * From a failed request to what the engine does, as pure functions: the Connector's error becomes
 * a `Failure` for the retry table (retry.ts), the table's decision becomes a verdict, and the
 * verdict becomes the job's result for its operation.
 */

/** What to do about one failed attempt. */
export type Verdict =
  | { kind: "retry"; delayMs: number; error: RowError; throttled: boolean }
  | { kind: "blocked" | "notFound" | "activityNotFound" | "tenantDisabled" | "failed"; error: RowError }
  /** The engine aborted the request (stopping): the row goes back to the pool untouched. */
  | { kind: "aborted" };

const short = (s: string): string => (s.length > 500 ? `${s.slice(0, 500)}…` : s);

/** The retry table's input for an error; `permanent` when the table has no say (Herald's own refusals). */
export function failureOf(e: unknown): { failure: Failure } | { permanent: RowError } | { aborted: true } {
  if (e instanceof RenderError) return { permanent: { code: e.code, message: short(e.message) } };
  if (!(e instanceof ConnectorError)) {
    return {
      permanent: { code: "HERALD_E_INTERNAL", message: short(`Herald failed before the request: ${(e as Error)?.message ?? String(e)}`) },
    };
  }
  switch (e.kind) {
    case "aborted":
      return { aborted: true };
    case "untrusted":
    case "invalid-response":
      return { permanent: { code: e.heraldCode, message: short(e.message) } };
    case "http":
      if (e.source === "token") {
        // The token endpoint failing is transient when it is down (5xx), permanent when it refuses the credentials.
        return (e.status ?? 0) >= 500
          ? { failure: { network: "other" } }
          : { permanent: { code: e.heraldCode, message: short(e.message) } };
      }
      return { failure: { status: e.status, code: e.code, subCode: e.subCode, retryAfterMs: e.retryAfterMs } };
    case "timeout":
      return { failure: { network: "timeout" } };
    case "reset":
      return { failure: { network: "reset" } };
    case "refused":
      return { failure: { network: "refused" } };
    default:
      return { failure: { network: "other" } };
  }
}

/** Classify one failed attempt (`state.attempt` counts it). */
export function judge(e: unknown, state: AttemptState, random: () => number, policy: RetryPolicy): Verdict {
  const f = failureOf(e);
  if ("aborted" in f) return { kind: "aborted" };
  if ("permanent" in f) return { kind: "failed", error: f.permanent };
  const message = e instanceof Error ? short(e.message) : String(e);
  const decision = decideRetry(f.failure, state, random, policy);
  const error = { code: decision.error, message };
  if (decision.outcome === "retry") return { kind: "retry", delayMs: decision.delayMs, error, throttled: f.failure.status === 429 };
  if (decision.outcome === "failed" && decision.reason !== "permanent") {
    const why = decision.reason === "attempts" ? `gave up after ${state.attempt} attempts` : "gave up: the retry time bound passed";
    return { kind: "failed", error: { code: decision.error, message: short(`${why}; last error: ${message}`) } };
  }
  return { kind: decision.outcome, error };
}

/** Extra facts a result carries: a chat created on the way. */
export interface Carried {
  conversationId?: string | undefined;
  serviceUrl?: string | undefined;
}

/** What a job carries into its result: the chat it created, if it is not a stored conversation's. */
export const carriedOf = (job: Job): Carried =>
  job.kind === "conversation" ? {} : { conversationId: job.conversationId, serviceUrl: job.serviceUrl };

/** The job's result for a verdict, per operation (see the table in docs/design/delivery.md). */
export function resultOf(
  job: Job,
  op: DeliveryOp,
  v: Exclude<Verdict, { kind: "aborted" }>,
  attempts: number,
  now: number,
  carried: Carried,
): JobResult {
  const key = { notificationId: job.notificationId, seq: job.seq };
  if (v.kind === "retry") {
    return {
      ...key,
      kind: "retry",
      op,
      attempts,
      firstAttemptAt: job.firstAttemptAt ?? now,
      dueAt: now + v.delayMs,
      error: v.error,
      ...carried,
    };
  }
  if (v.kind === "tenantDisabled") return { ...key, kind: "release", ...carried };
  if (op === "send") {
    const status = v.kind === "blocked" ? "blocked" : v.kind === "notFound" ? "notFound" : "failed";
    return { ...key, kind: "final", status, attempts, error: v.error, conversationId: carried.conversationId };
  }
  if (op === "edit") return { ...key, kind: "editFailed", attempts, error: v.error };
  // A delete of an activity that is already gone has done its job.
  if (v.kind === "activityNotFound") return { ...key, kind: "deleted", attempts };
  return { ...key, kind: "deleteFailed", attempts, error: v.error };
}
