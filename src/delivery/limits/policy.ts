/**
 * Teams' rate limits (protocol reference, section 6) as data, and how one window of a limit is
 * turned into the parameters of a GCRA ("virtual scheduling") bucket.
 *
 * Teams counts requests in sliding windows. A limiter keeping one "theoretical arrival time"
 * per window (GCRA) instead of a log of every request is what keeps memory bounded for a
 * broadcast to a million conversations: the state of a window is one number, and it can be
 * dropped as soon as that number is in the past (the bucket is then indistinguishable from a
 * fresh one).
 */

/** One sliding window: at most `limit` requests in any `windowMs` milliseconds. */
export interface LimitWindow {
  /** Requests allowed in any window of `windowMs` (an integer ≥ 1). */
  readonly limit: number;
  /** Window length in milliseconds (> 0). */
  readonly windowMs: number;
  /**
   * How many requests may go back to back from an idle bucket (1..limit; default 1). Each extra
   * request of burst costs one request of steady rate: the steady rate is
   * `(limit − burst + 1) / (windowMs + marginMs + catchUpMs)`.
   */
  readonly burst?: number;
}

/** Every window must allow a request for it to go. An empty policy never limits (only `block` does). */
export type LimitPolicy = readonly LimitWindow[];

/**
 * Per bot, per conversation: send to a conversation (also update and delete activity, which
 * Teams counts alike). Burst 7 lets a short series to one conversation go at once (7 is the
 * 1-second limit) and costs 0.3% of the hourly rate: sustained, one request per ~2 s.
 */
export const conversationSendPolicy: LimitPolicy = Object.freeze([
  { limit: 7, windowMs: 1_000, burst: 7 },
  { limit: 8, windowMs: 2_000, burst: 7 },
  { limit: 60, windowMs: 30_000, burst: 7 },
  { limit: 1_800, windowMs: 3_600_000, burst: 7 },
]);

/** Per bot, per conversation: create conversation. Same numbers as send (section 6). */
export const conversationCreatePolicy: LimitPolicy = conversationSendPolicy;

/** Per bot, per conversation: get members (also get conversations). Burst 14, the 1-second limit. */
export const getMembersPolicy: LimitPolicy = Object.freeze([
  { limit: 14, windowMs: 1_000, burst: 14 },
  { limit: 16, windowMs: 2_000, burst: 14 },
  { limit: 120, windowMs: 30_000, burst: 14 },
  { limit: 3_600, windowMs: 3_600_000, burst: 14 },
]);

/**
 * Per app, per tenant, all threads: `rps` requests per second (HERALD_TENANT_RPS, default 50;
 * 0 = no tenant limit, an empty policy). Burst 1: at 50 rps a burst of 2 would cost 2% of the
 * ceiling, and the tenant budget is what a broadcast runs on (goal: ≥ 97% of it). A fractional
 * rps is expressed over a longer window (2.5 → 25 per 10 s) so `limit` stays an integer.
 */
export function tenantPolicy(rps: number): LimitPolicy {
  if (!Number.isFinite(rps) || rps < 0) throw new RangeError(`HERALD_E_LIMIT_POLICY: tenant rps must be a number ≥ 0 (got ${rps}).`);
  if (rps === 0) return Object.freeze([]);
  let windowMs = 1_000;
  let limit = rps;
  while (!isWhole(limit) && windowMs < 3_600_000) {
    windowMs *= 10;
    limit = (rps * windowMs) / 1_000;
  }
  return Object.freeze([{ limit: Math.max(1, Math.floor(limit + 1e-9)), windowMs, burst: 1 }]);
}

const isWhole = (n: number): boolean => Math.abs(n - Math.round(n)) < 1e-9;

/** Options shared by every limiter implementation. */
export interface GcraOptions {
  /**
   * Every window is enforced as if it were this much longer, in ms (default 30). Guards against
   * jitter (two requests sent T apart may reach Teams less than T apart: a pause of either event
   * loop, a slower write before one of them, the network) and clock skew between Herald
   * processes sharing Redis. Must be > 0 for the guarantee to hold for closed windows
   * `[t − windowMs, t]`; with 0 it holds for half-open ones. Measured (bench/run.js, 3 tenants
   * at 50 rps against the emulator on 2 loaded cores): with 10 a few requests a minute still
   * arrived bunched enough for a 429, each costing its tenant a second; with 30 none did.
   */
  readonly marginMs?: number;
  /**
   * A caller that comes back up to this many ms late for its slot keeps its place in the schedule
   * (default 10). Timers fire late by a millisecond or two; without this tolerance every late
   * wake-up would be lost for good and a 20 ms schedule would run ~5% slow. Costs rate like
   * `marginMs` does.
   */
  readonly catchUpMs?: number;
}

/** Defaults of GcraOptions: at 50 rps a tenant runs at 50 / 1.040 s = 48.1 requests/s (96%). */
export const defaultGcraOptions = Object.freeze({ marginMs: 30, catchUpMs: 10 });

/**
 * A window compiled to GCRA parameters, in integer microseconds so that the in-process and the
 * Redis (Lua, doubles) implementations compute exactly the same thing.
 */
export interface CompiledWindow {
  /** Stable name of the window (`limit/windowMs/burst`), part of the storage key. */
  readonly sig: string;
  /** Emission interval T in µs: one slot per T in steady state. */
  readonly intervalUs: number;
  /** Tolerance τ in µs: a request may go when `now ≥ TAT − τ`. */
  readonly toleranceUs: number;
}

/**
 * In GCRA(T, τ) any `n + 1` admitted requests span at least `n·T − τ`. With
 * `T = (W + margin + catchUp) / (limit − burst + 1)` and `τ = (burst − 1)·T + catchUp`, any
 * `limit + 1` requests span at least `W + margin`, so no window of length W (nor any window
 * shorter than W + margin) holds more than `limit`. Throws RangeError on a malformed window.
 */
export function compileWindow(w: LimitWindow, options: GcraOptions = {}): CompiledWindow {
  const marginMs = options.marginMs ?? defaultGcraOptions.marginMs;
  const catchUpMs = options.catchUpMs ?? defaultGcraOptions.catchUpMs;
  const burst = w.burst ?? 1;
  if (!Number.isInteger(w.limit) || w.limit < 1) throw policyError(w, "limit must be an integer ≥ 1");
  if (!Number.isFinite(w.windowMs) || w.windowMs <= 0) throw policyError(w, "windowMs must be > 0");
  if (!Number.isInteger(burst) || burst < 1 || burst > w.limit) throw policyError(w, "burst must be an integer in 1..limit");
  if (!Number.isFinite(marginMs) || marginMs < 0) throw new RangeError(`HERALD_E_LIMIT_POLICY: marginMs must be ≥ 0 (got ${marginMs}).`);
  if (!Number.isFinite(catchUpMs) || catchUpMs < 0)
    throw new RangeError(`HERALD_E_LIMIT_POLICY: catchUpMs must be ≥ 0 (got ${catchUpMs}).`);
  const intervalUs = Math.ceil(((w.windowMs + marginMs + catchUpMs) * 1_000) / (w.limit - burst + 1));
  return {
    sig: `${w.limit}/${w.windowMs}/${burst}`,
    intervalUs,
    toleranceUs: (burst - 1) * intervalUs + Math.round(catchUpMs * 1_000),
  };
}

const policyError = (w: LimitWindow, what: string) =>
  new RangeError(`HERALD_E_LIMIT_POLICY: ${what} (got ${JSON.stringify(w)}); fix the policy passed to the limiter.`);

/** Compiles a policy once per (policy object, limiter): policies are constants or built once from config. */
export class PolicyCompiler {
  private readonly cache = new WeakMap<LimitPolicy, readonly CompiledWindow[]>();
  constructor(private readonly options: GcraOptions = {}) {
    // Validate the options now rather than at the first request.
    compileWindow({ limit: 1, windowMs: 1 }, options);
  }

  compile(policy: LimitPolicy): readonly CompiledWindow[] {
    let compiled = this.cache.get(policy);
    if (!compiled) {
      compiled = policy.map((w) => compileWindow(w, this.options));
      this.cache.set(policy, compiled);
    }
    return compiled;
  }
}

/** Milliseconds (possibly fractional) to integer microseconds. */
export const toUs = (ms: number): number => Math.round(ms * 1_000);

/** A wait in µs to the whole milliseconds a caller must wait (≥ 1 when there is any wait). */
export const waitMs = (us: number): number => (us <= 0 ? 0 : Math.ceil(us / 1_000));
