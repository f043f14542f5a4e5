import type { CompiledWindow, LimitPolicy } from "./policy.js";

/**
 * One bucket to take a slot from: `key` names what is counted (e.g. `send:<conversationId>`,
 * `tenant:<tenantId>`), `policy` how. A key must always be used with the same policy: its state
 * is stored per window of the policy, so a key used with two policies is two sets of buckets.
 */
export interface BucketKey {
  readonly key: string;
  readonly policy: LimitPolicy;
  /**
   * Slots taken in this bucket at once, for requests that leave together (default 1). A window
   * with `group` k admits up to k at once (one tick); a window without takes them as that many
   * requests at `now`, so only within its burst. More than a window can ever admit at once is a
   * usage error (RateLimiterUsageError).
   */
  readonly slots?: number;
}

/**
 * Decides whether a request to Teams may go now, so that Teams has no reason to answer 429.
 *
 * Guarantee: for every key and every window `{limit, windowMs}` of its policy, no window of
 * `windowMs` milliseconds (closed, `[t − windowMs, t]`, when `marginMs > 0`) ever contains more
 * than `limit` admitted requests, whatever the calling pattern. In steady state a key runs at
 * `(limit − burst + 1) / (windowMs + marginMs + catchUpMs)` (tenant at 50 rps with the defaults:
 * 48.1/s, 96%). `now` and `until` are the caller's Clock (ms since the epoch). In one process
 * that is the time the limiter decides with (tests run an hour of traffic in milliseconds). The
 * Redis limiter, shared by processes whose clocks may disagree, decides with Redis's own clock
 * (`TIME` inside its scripts) and uses the caller's clock only for durations (`until - now`).
 *
 * Implementations: `InProcessRateLimiter` (one process), `RedisRateLimiter` (several Herald
 * processes sharing each tenant's budget).
 */
export interface RateLimiter {
  /**
   * Takes one slot in EVERY bucket of `keys`, atomically: either all of them (and answers 0) or
   * none (and answers the milliseconds until a retry could succeed, ≥ 1: the largest wait over
   * the refusing buckets, including blocks). "Could": another caller may take the slot first.
   * Keys must be distinct (a duplicate is a programming error and throws), and `slots` within
   * what each window can admit at once (see BucketKey.slots).
   */
  tryAcquire(keys: readonly BucketKey[], now: number): Promise<number>;
  /**
   * Refuses every request involving `key` until `until` (ms since the epoch, same clock as `now`):
   * used when Teams answers 429 with Retry-After for that conversation or tenant. A later
   * `block` with an earlier `until` does not shorten an existing block. At `until` the bucket
   * admits again at its normal pace (its windows are not reset).
   */
  block(key: string, until: number): Promise<void>;
}

/** Thrown for a caller mistake (duplicate key in one tryAcquire): fix the call, do not retry. */
export class RateLimiterUsageError extends Error {
  readonly code = "HERALD_E_LIMITER_USAGE";
  override readonly name = "RateLimiterUsageError";
}

/**
 * The slots `key` takes in a window at once (≥ 1), checked against what the window can ever admit
 * at once: a tick's `group`, or for a plain window `1 + τ / T` (its burst). Throws RateLimiterUsageError.
 */
export function slotsIn(key: BucketKey, w: CompiledWindow): number {
  const slots = key.slots ?? 1;
  if (slots === 1) return 1;
  const most = w.group > 1 ? w.group : 1 + Math.floor(w.toleranceUs / w.intervalUs);
  if (!Number.isInteger(slots) || slots < 1 || slots > most)
    throw new RateLimiterUsageError(`Key "${key.key}" asks for ${slots} slots at once; its window ${w.sig} admits 1..${most} at once.`);
  return slots;
}

/** Throws RateLimiterUsageError when a key appears twice: one request takes one slot per bucket. */
export function assertDistinctKeys(keys: readonly BucketKey[]): void {
  if (keys.length < 2) return;
  if (keys.length === 2) {
    // A send's tenant and conversation: no Set for the common case.
    if (keys[0]!.key === keys[1]!.key)
      throw new RateLimiterUsageError(`Key "${keys[0]!.key}" appears twice in one tryAcquire; pass each bucket once.`);
    return;
  }
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k.key)) throw new RateLimiterUsageError(`Key "${k.key}" appears twice in one tryAcquire; pass each bucket once.`);
    seen.add(k.key);
  }
}
