/**
 * What to do when a request to Teams fails: ONE table keyed by HTTP status and Teams error
 * code / subCode (protocol reference, section 6), the backoff between attempts, and the bounds
 * after which a delivery is `failed`. Pure functions over plain data: the Connector client turns
 * a response into a `Failure`, the engine acts on the decision.
 */

/** A failed request to Teams as plain data. `status` is absent for network errors (transient). */
export interface Failure {
  readonly status?: number | undefined;
  /** Teams `error.code` (e.g. `ConversationNotFound`, `BadArgument`). */
  readonly code?: string | undefined;
  /** Teams subCode (e.g. `MessageWritesBlocked`, decoded from the JSON inside `error.message`). */
  readonly subCode?: string | undefined;
  readonly network?: "timeout" | "reset" | "refused" | "other" | undefined;
  /** From Retry-After (seconds or HTTP date; see parseRetryAfter), in ms. */
  readonly retryAfterMs?: number | undefined;
}

/**
 * - `retry`: transient; try again after `nextDelay`.
 * - `blocked`: the user blocked the bot; mark the conversation `blocked`, stop sending to it.
 * - `notFound`: the conversation is gone or the bot was uninstalled; mark it `uninstalled`.
 * - `activityNotFound`: the activity to edit or delete is gone, the conversation is fine (a
 *   separate outcome so that an edit or recall never marks a conversation uninstalled).
 * - `tenantDisabled`: the tenant's admin disabled the bot; pause the tenant until a user of it
 *   interacts again.
 * - `failed`: permanent (or unknown, which is not retried); keep the error, do not retry.
 */
export type FailureOutcome = "retry" | "blocked" | "notFound" | "activityNotFound" | "tenantDisabled" | "failed";

export interface RetryRow {
  /** HTTP status; `network` = no response (timeout, reset, refused). */
  readonly status: number | "network";
  /** Matches the failure's code OR subCode, case-insensitively; absent = any code. */
  readonly code?: string;
  readonly outcome: FailureOutcome;
  /** Why, for the reader and for logs. */
  readonly why: string;
}

/**
 * The table. The first row whose status matches and whose code (if any) equals the failure's
 * code or subCode wins; a failure no row matches is `failed` (unknown: do not retry).
 */
export const retryTable: readonly RetryRow[] = Object.freeze([
  { status: "network", outcome: "retry", why: "no answer (timeout, connection reset or refused): transient" },
  { status: 400, outcome: "failed", why: "BadArgument / BadSyntax: the request is malformed, retrying sends the same" },
  {
    status: 401,
    outcome: "failed",
    why: "BotNotRegistered or a bad token: the bot's credentials. The delivery engine pauses all sending for it instead (dispatch/credentials.ts) and the row waits; this row applies where no such pause exists, and to a row whose conversation keeps refusing a token the Connector accepts for others",
  },
  { status: 403, code: "MessageWritesBlocked", outcome: "blocked", why: "the user blocked or uninstalled the bot (errorCode 209)" },
  { status: 403, code: "ConversationBlockedByUser", outcome: "blocked", why: "the user blocked the bot" },
  { status: 403, code: "BotDisabledByAdmin", outcome: "tenantDisabled", why: "the tenant admin disabled the bot" },
  { status: 403, code: "BotNotInConversationRoster", outcome: "notFound", why: "the bot is no longer in the conversation (uninstalled)" },
  { status: 403, code: "ForbiddenOperationException", outcome: "notFound", why: "the app is not installed in personal scope" },
  { status: 403, code: "InvalidBotApiHost", outcome: "failed", why: "wrong cloud host: use the serviceUrl of the right cloud" },
  { status: 403, outcome: "failed", why: "forbidden for a reason Teams did not name" },
  { status: 404, code: "ConversationNotFound", outcome: "notFound", why: "the conversation is gone" },
  {
    status: 404,
    code: "ActivityNotFoundInConversation",
    outcome: "activityNotFound",
    why: "the activity is gone (edited or recalled message deleted)",
  },
  { status: 404, outcome: "failed", why: "not found without a Teams code: more likely a wrong URL than a gone conversation" },
  { status: 412, outcome: "retry", why: "PreconditionFailed: transient" },
  { status: 413, outcome: "failed", why: "MessageSizeTooBig: the same payload will not fit next time" },
  { status: 429, outcome: "retry", why: "Throttled: wait Retry-After for that conversation or tenant" },
  { status: 500, outcome: "failed", why: "internal error: Teams documents it as not retryable" },
  { status: 502, outcome: "retry", why: "bad gateway: transient" },
  { status: 503, outcome: "retry", why: "unavailable: transient" },
  { status: 504, outcome: "retry", why: "gateway timeout: transient" },
]);

/** The answer for a failure no row of retryTable matches. */
export const unknownFailureRow: RetryRow = Object.freeze({
  status: 0,
  outcome: "failed",
  why: "not in the retry table: unknown failures are not retried",
});

/** The row of `retryTable` that decides `failure` (the `unknown` row when none matches). */
export function classifyFailure(failure: Failure): RetryRow {
  const status = failure.status ?? "network";
  const code = failure.code?.toLowerCase();
  const subCode = failure.subCode?.toLowerCase();
  for (const row of retryTable) {
    if (row.status !== status) continue;
    if (row.code === undefined) return row;
    const want = row.code.toLowerCase();
    if (want === code || want === subCode) return row;
  }
  return unknownFailureRow;
}

/** A short stable label for storage and reports: `403/BadArgument/MessageWritesBlocked`, `429`, `network/timeout`. */
export function failureLabel(failure: Failure): string {
  if (failure.status === undefined) return `network/${failure.network ?? "other"}`;
  return [String(failure.status), failure.code, failure.subCode].filter((p) => p !== undefined && p !== "").join("/");
}

/** Bounds of retrying and the backoff curve. */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 12). */
  readonly maxAttempts: number;
  /** No retry is scheduled later than this many ms after the first attempt (default 30 min). */
  readonly maxTotalMs: number;
  /** Backoff ceiling of the first retry, in ms (default 1000). */
  readonly baseMs: number;
  /** Largest backoff ceiling, in ms (default 300,000 = 5 min). */
  readonly capMs: number;
}

/**
 * 12 attempts, 11 waits of 9.3 to 18.5 min in all: enough to ride out a Teams outage of several
 * minutes, well inside the 30 min bound.
 */
export const defaultRetryPolicy: RetryPolicy = Object.freeze({ maxAttempts: 12, maxTotalMs: 30 * 60_000, baseMs: 1_000, capMs: 300_000 });

/** The longest a Retry-After holds a bucket (30 min, the default retry time bound): connector/retry-after.ts. */
export { maxRetryAfterHoldMs } from "../connector/retry-after.js";

/**
 * The wait before retry number `attempt` (1 = after the first failed attempt), in ms.
 *
 * Retry-After, when Teams gave one, is honoured exactly (never less, no jitter added: the
 * limiter block for that conversation or tenant uses the same instant). Otherwise exponential
 * with "equal jitter": ceiling = min(capMs, baseMs·2^(attempt−1)), delay uniform in
 * [ceiling/2, ceiling]. Half fixed so that retries during an outage are never near-immediate
 * (full jitter can retry after 3 ms), half random so that a broadcast's thousands of failed
 * sends do not return in lockstep. With the defaults:
 *
 *   attempt 1: 0.5–1 s   2: 1–2 s     3: 2–4 s     4: 4–8 s      5: 8–16 s
 *   attempt 6: 16–32 s   7: 32–64 s   8: 64–128 s  9: 128–256 s  10 and later: 150–300 s
 *
 * `random` returns a number in [0, 1) (Math.random in production, a fixed value in tests).
 */
export function nextDelay(attempt: number, failure: Failure, random: () => number, policy: RetryPolicy = defaultRetryPolicy): number {
  if (failure.retryAfterMs !== undefined && Number.isFinite(failure.retryAfterMs)) return Math.max(0, Math.ceil(failure.retryAfterMs));
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(exponent, 52));
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(ceiling / 2 + (r * ceiling) / 2);
}

/** What the engine does with a failed attempt. `error` is `failureLabel(failure)`: the last error, kept. */
export type RetryDecision =
  | { readonly outcome: "retry"; readonly delayMs: number; readonly retryAt: number; readonly error: string; readonly row: RetryRow }
  | { readonly outcome: "blocked" | "notFound" | "activityNotFound" | "tenantDisabled"; readonly error: string; readonly row: RetryRow }
  | { readonly outcome: "failed"; readonly reason: "permanent" | "attempts" | "time"; readonly error: string; readonly row: RetryRow };

/** Where a delivery stands when its latest attempt failed. Times in ms since the epoch. */
export interface AttemptState {
  /** Attempts made so far, the one that just failed included (≥ 1). */
  readonly attempt: number;
  readonly firstAttemptAt: number;
  readonly now: number;
}

/**
 * Classifies `failure` and, if it is transient, schedules the next attempt unless that would
 * pass `maxAttempts` or `maxTotalMs` (then `failed`, reason `attempts` or `time`, the error kept).
 */
export function decideRetry(
  failure: Failure,
  state: AttemptState,
  random: () => number,
  policy: RetryPolicy = defaultRetryPolicy,
): RetryDecision {
  const row = classifyFailure(failure);
  const error = failureLabel(failure);
  if (row.outcome === "failed") return { outcome: "failed", reason: "permanent", error, row };
  if (row.outcome !== "retry") return { outcome: row.outcome, error, row };
  if (state.attempt >= policy.maxAttempts) return { outcome: "failed", reason: "attempts", error, row };
  const delayMs = nextDelay(state.attempt, failure, random, policy);
  const retryAt = state.now + delayMs;
  if (retryAt - state.firstAttemptAt > policy.maxTotalMs) return { outcome: "failed", reason: "time", error, row };
  return { outcome: "retry", delayMs, retryAt, error, row };
}

/**
 * Retry-After as Teams (and HTTP) sends it: delay-seconds (`"3"`, fractions tolerated) or an
 * HTTP date; answers ms from `now`, 0 for a date in the past, undefined when absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, now: number): number | undefined {
  const value = header?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1_000);
  // An HTTP date names its month; without this, Date.parse would read "-1" as a year.
  const at = /[a-z]{3}/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
