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
  /**
   * Requests that may leave together (default 1: one by one). With `group` k > 1 the window's budget
   * is handed out in ticks: a tick opens when the window allows it, and up to k requests taken
   * within GROUP_OPEN_MS of its opening go with it; the rest of a tick is lost after that. Ticks
   * are spaced so that `floor(limit / k)` of them, k requests each, fit in any window: the same
   * steady rate as one by one when k divides `limit` (less GROUP_OPEN_MS per window), but a lane
   * at the ceiling wakes once per k requests instead of once per request. Requires `burst` 1.
   */
  readonly group?: number;
}

/**
 * How long a tick of a grouped window stays open after it opened, in ms: the requests taken in
 * this time go with it. Long enough for a lane to take a tick's requests one after another (each a
 * Redis round trip with RedisRateLimiter); every window is enforced as if this much longer.
 */
export const GROUP_OPEN_MS = 5;

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
 * `tick` (HERALD_TENANT_TICK, default 1): requests that may leave together (see tenantGroup).
 */
export function tenantPolicy(rps: number, tick = 1): LimitPolicy {
  if (!Number.isFinite(rps) || rps < 0) throw new RangeError(`HERALD_E_LIMIT_POLICY: tenant rps must be a number ≥ 0 (got ${rps}).`);
  if (rps === 0) return Object.freeze([]);
  let windowMs = 1_000;
  let limit = rps;
  while (!isWhole(limit) && windowMs < 3_600_000) {
    windowMs *= 10;
    limit = (rps * windowMs) / 1_000;
  }
  const whole = Math.max(1, Math.floor(limit + 1e-9));
  return Object.freeze([{ limit: whole, windowMs, burst: 1, group: tenantGroup(whole, tick) }]);
}

/**
 * The group of a tenant window of `limit` requests, for a wanted `tick`: the largest divisor of
 * `limit` up to `tick` that leaves at least TENANT_TICKS_PER_WINDOW ticks per window (50 per
 * second and tick 10: 10 every 209 ms). A divisor, so that grouping costs no rate; 1 (one by one)
 * for a limit without one (a prime such as 13).
 *
 * The trade-off (why 1 is the default): a request that finds no tick open opens one and the rest
 * of it is lost after GROUP_OPEN_MS, so requests taken one at a time at other moments than a
 * lane's ticks (replies and welcomes, roster reads, batch operations, edits) each cost a whole
 * tick. Ticks suit a tenant whose traffic is broadcasts; they make a lane at the ceiling wake
 * once per tick instead of once per request (less CPU per message).
 */
export function tenantGroup(limit: number, tick: number): number {
  for (let k = Math.min(tick, Math.floor(limit / TENANT_TICKS_PER_WINDOW)); k > 1; k--) if (limit % k === 0) return k;
  return 1;
}

/**
 * Ticks per window of a tenant: at 50 rps, 5 a second of 10 requests each. More ticks (smaller
 * groups) spread the requests more evenly; fewer wake a lane less often. Teams documents the tenant
 * limit per second only; 10 requests within a few ms stay inside it.
 */
const TENANT_TICKS_PER_WINDOW = 5;

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
  /** Requests per tick (LimitWindow.group); 1: one by one, and `intervalUs` is per request. */
  readonly group: number;
  /** How long a tick stays open after it opened, in µs (0 when `group` is 1). */
  readonly openUs: number;
}

/**
 * In GCRA(T, τ) any `n + 1` admitted requests span at least `n·T − τ`. With
 * `T = (W + margin + catchUp) / (limit − burst + 1)` and `τ = (burst − 1)·T + catchUp`, any
 * `limit + 1` requests span at least `W + margin`, so no window of length W (nor any window
 * shorter than W + margin) holds more than `limit`. Throws RangeError on a malformed window.
 *
 * A grouped window (k = group > 1) runs GCRA on ticks: `P = floor(limit / k)` ticks per window,
 * `T = (W + margin + catchUp + open) / P`, `τ = catchUp`. Any `P + 1` ticks open at least
 * `W + margin + open` apart and each tick's requests leave within `open` of its opening, so a
 * window shorter than W + margin holds the requests of at most P ticks: at most `P·k ≤ limit`.
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
  const group = w.group ?? 1;
  if (!Number.isInteger(group) || group < 1 || group > w.limit) throw policyError(w, "group must be an integer in 1..limit");
  if (group > 1 && burst > 1) throw policyError(w, "a grouped window must have burst 1");
  // The sig names the window, not how its budget is spent: processes of two versions (grouped or
  // not) share the same key during a rolling upgrade instead of each taking the whole budget.
  const sig = `${w.limit}/${w.windowMs}/${burst}`;
  if (group > 1) {
    return {
      sig,
      intervalUs: Math.ceil(((w.windowMs + marginMs + catchUpMs + GROUP_OPEN_MS) * 1_000) / Math.floor(w.limit / group)),
      toleranceUs: Math.round(catchUpMs * 1_000),
      group,
      openUs: GROUP_OPEN_MS * 1_000,
    };
  }
  const intervalUs = Math.ceil(((w.windowMs + marginMs + catchUpMs) * 1_000) / (w.limit - burst + 1));
  return { sig, intervalUs, toleranceUs: (burst - 1) * intervalUs + Math.round(catchUpMs * 1_000), group: 1, openUs: 0 };
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

/**
 * Whether `slots` more requests at `nowUs` go with the tick of a grouped window that opened at
 * `openedUs` and has `left` slots: only while it is open (never for a `now` before it opened, a
 * caller's older reading of the clock).
 */
export function inTick(openedUs: number, left: number, w: CompiledWindow, slots: number, nowUs: number): boolean {
  return left >= slots && nowUs >= openedUs && nowUs - openedUs <= w.openUs;
}

/**
 * µs until `slots` requests may go at once in window `w` whose TAT is `tat` (≤ 0: now). A tick of a
 * grouped window is one GCRA request; a plain window takes them as `slots` requests at `nowUs`, so
 * the last one must be admissible then.
 */
export function waitFor(tat: number, w: CompiledWindow, slots: number, nowUs: number): number {
  if (slots === 1 || w.group > 1) return tat - w.toleranceUs - nowUs;
  return Math.max(tat, nowUs) + (slots - 1) * w.intervalUs - w.toleranceUs - nowUs;
}

/**
 * The wait answered when other windows refuse (`waitUs` > 0) while open ticks would take the slots
 * now: a tick that will have closed by the time the caller comes back (whole ms later) no longer
 * counts, and its window's wait for its next tick counts instead, which may close more ticks.
 * `ticks`: per open tick, when it closes (µs, same clock as `nowUs`) and its window's wait for its next tick.
 */
export function tickWait(waitUs: number, ticks: readonly (readonly [number, number])[], nowUs: number): number {
  const left = [...ticks];
  for (let changed = waitUs > 0; changed; ) {
    changed = false;
    const back = nowUs + waitMs(waitUs) * 1_000;
    for (let i = left.length - 1; i >= 0; i--) {
      const [closesUs, nextUs] = left[i]!;
      if (back <= closesUs) continue;
      waitUs = Math.max(waitUs, nextUs);
      left.splice(i, 1);
      changed = true;
    }
  }
  return waitUs;
}

/** Milliseconds (possibly fractional) to integer microseconds. */
export const toUs = (ms: number): number => Math.round(ms * 1_000);

/** A wait in µs to the whole milliseconds a caller must wait (≥ 1 when there is any wait). */
export const waitMs = (us: number): number => (us <= 0 ? 0 : Math.ceil(us / 1_000));
