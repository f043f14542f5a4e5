import { ConnectorError } from "../../connector/errors.js";
import { RenderError } from "../message/errors.js";
import { type DeliveryOp, type InFlightPolicy, type Job, type JobResult, leasedKey, type RowError } from "../model.js";
import { type AttemptState, decideRetry, type Failure, maxRetryAfterHoldMs, type RetryPolicy } from "../retry.js";
import type { Step } from "./steps.js";

/**
 * From a failed request to what the engine does, as pure functions: the Connector's error becomes
 * a `Failure` for the retry table (retry.ts), the table's decision becomes a verdict, and the
 * verdict becomes the job's result for its operation.
 */

/** What to do about one failed attempt. */
export type Verdict =
  /** `inDoubt`: a send's request may have reached Teams (retried under `resend`); a recall meanwhile ends the row `unknown`. */
  | { kind: "retry"; delayMs: number; error: RowError; throttled: boolean; inDoubt?: boolean }
  | { kind: "blocked" | "notFound" | "activityNotFound" | "tenantDisabled" | "failed"; error: RowError }
  /** The request may have reached Teams and doing it again could duplicate it: the row ends `unknown`. */
  | { kind: "unknown"; error: RowError }
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

/**
 * Whether doing a step twice does its effect twice, per operation:
 * - `send` (POST activities): yes, the person gets the message twice;
 * - `createThread` (POST /v3/conversations for a channel): yes, a second create opens a second
 *   thread with the same post;
 * - `create` (POST /v3/conversations for a 1:1 chat): no, Teams answers the same chat for the
 *   same user and the create sends no message;
 * - `edit` (PUT) and `delete` (DELETE): no, both are idempotent (the same content again; an
 *   activity already gone answers 404, which counts as deleted);
 * - roster reads (GET, audience/stream.ts) do not go through steps and are always retried.
 */
export const repeatsEffect = (step: Step): boolean => step === "send" || step === "createThread";

/** What a failed step is, beyond the error: whether a duplicate would matter, and the policy for one. */
export interface StepContext {
  step: Step;
  /** HERALD_IN_FLIGHT_POLICY: `unknown` = at most once, `resend` = at least once. */
  inFlightPolicy: InFlightPolicy;
}

/**
 * A transport failure after the request was written (a timeout waiting for the answer, a reset
 * after the write, an abort not from Herald): Teams may have acted on the request without the
 * answer reaching Herald. Answers that came back (any HTTP status) are the retry table's to judge.
 */
function mayHaveActed(e: unknown): e is ConnectorError {
  return (
    e instanceof ConnectorError &&
    e.source === "connector" &&
    e.mayHaveArrived &&
    (e.kind === "timeout" || e.kind === "reset" || e.kind === "network" || e.kind === "aborted")
  );
}

/**
 * Classify one failed attempt (`state.attempt` counts it). With `context`, a step whose repetition
 * would duplicate its effect (`repeatsEffect`) and whose request may have reached Teams
 * (`mayHaveActed`) is not retried under the `unknown` policy: like a send in flight at a crash, it
 * ends `unknown`. Under `resend` it is retried like any transient failure (at least once).
 */
export function judge(e: unknown, state: AttemptState, random: () => number, policy: RetryPolicy, context?: StepContext): Verdict {
  const inDoubt = context !== undefined && repeatsEffect(context.step) && mayHaveActed(e);
  if (inDoubt && context.inFlightPolicy === "unknown") {
    const kind = e.kind === "network" ? "other" : e.kind;
    return {
      kind: "unknown",
      error: {
        code: `network/${kind}`,
        message: short(
          `Teams may have received this message: ${e.message} The request had been written, so it is not sent again (HERALD_IN_FLIGHT_POLICY=unknown; resend would retry it at the risk of a duplicate).`,
        ),
      },
    };
  }
  const f = failureOf(e);
  if ("aborted" in f) return { kind: "aborted" };
  if ("permanent" in f) return { kind: "failed", error: f.permanent };
  const message = e instanceof Error ? short(e.message) : String(e);
  const decision = decideRetry(f.failure, state, random, policy);
  const error = { code: decision.error, message };
  if (decision.outcome === "retry")
    return { kind: "retry", delayMs: decision.delayMs, error, throttled: f.failure.status === 429, ...(inDoubt ? { inDoubt } : {}) };
  if (decision.outcome === "failed" && decision.reason !== "permanent") {
    const why = decision.reason === "attempts" ? `gave up after ${state.attempt} attempts` : "gave up: the retry time bound passed";
    return { kind: "failed", error: { code: decision.error, message: short(`${why}; last error: ${message}`) } };
  }
  return { kind: decision.outcome, error };
}

/**
 * Until when a 429 from Teams asks that its buckets wait, for a request that is not retried (past
 * its retry time bound or its attempts, or a read that does without): its Retry-After, at most
 * maxRetryAfterHoldMs. Undefined for anything else: another failure, a 429 without Retry-After, or
 * one from the token endpoint (the credentials' matter, credentials.ts, not a tenant's limit).
 */
export function retryAfterHold(e: unknown, now: number): number | undefined {
  if (!isTeams429(e) || e.retryAfterMs === undefined || e.retryAfterMs <= 0) return undefined;
  return now + Math.min(e.retryAfterMs, maxRetryAfterHoldMs);
}

/** A 429 answered by the Connector itself (not the token endpoint). */
export const isTeams429 = (e: unknown): e is ConnectorError =>
  e instanceof ConnectorError && e.source === "connector" && e.kind === "http" && e.status === 429;

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
  const key = leasedKey(job);
  if (v.kind === "retry") {
    return {
      ...key,
      kind: "retry",
      op,
      attempts,
      firstAttemptAt: job.firstAttemptAt ?? now,
      dueAt: now + v.delayMs,
      error: v.error,
      ...(v.inDoubt ? { inDoubt: true } : {}),
      ...carried,
    };
  }
  if (v.kind === "tenantDisabled") return { ...key, kind: "release", ...carried };
  if (op === "send") {
    const status = v.kind === "blocked" ? "blocked" : v.kind === "notFound" ? "notFound" : v.kind === "unknown" ? "unknown" : "failed";
    return { ...key, kind: "final", status, attempts, error: v.error, conversationId: carried.conversationId };
  }
  if (op === "edit") return { ...key, kind: "editFailed", attempts, error: v.error };
  // A delete of an activity that is already gone has done its job.
  if (v.kind === "activityNotFound") return { ...key, kind: "deleted", attempts };
  return { ...key, kind: "deleteFailed", attempts, error: v.error };
}

/** Stable code of a row canceled because another row of the notification is the same person. */
export const DUPLICATE_RECIPIENT = "HERALD_E_DUPLICATE_RECIPIENT";

/**
 * A row whose created chat another row of the notification already has (the same person named by
 * their Teams id and their Entra object id): `canceled`, not sent, pointing at that row.
 */
export function duplicateResult(job: Job, otherSeq: number, attempts: number): JobResult {
  return {
    ...leasedKey(job),
    kind: "final",
    status: "canceled",
    attempts,
    error: {
      code: DUPLICATE_RECIPIENT,
      message: `The same person as delivery ${otherSeq} (Teams gave both the same chat ${job.conversationId ?? ""}); the message goes once, through that delivery.`,
    },
    conversationId: job.conversationId,
  };
}
