import { type GcraOptions, PolicyCompiler, toUs, waitMs } from "./policy.js";
import { assertDistinctKeys, type BucketKey, type RateLimiter } from "./rate-limiter.js";

/**
 * The RateLimiter of a single Herald process: GCRA per window, state in two Maps.
 *
 * Memory: one number per (key, window) while it matters and nothing after. A window's entry is
 * its theoretical arrival time (TAT); once TAT ≤ now the bucket behaves exactly like a fresh one,
 * so the entry is deleted. Deletion is incremental: every tryAcquire inspects the next few
 * entries of a cyclic pass over the map (at least twice as many as it may add) and deletes those
 * expired for over a second, so the maps stay within about twice the number of keys active in
 * the last few seconds: for a broadcast at 50 rps, a few hundred entries, not a million.
 * `sweep(now)` deletes every expired entry at once (call it from a timer if traffic stops).
 */
export class InProcessRateLimiter implements RateLimiter {
  /** `${sig}\u0000${key}` → TAT in µs. */
  private readonly tats = new Map<string, number>();
  /** key → blocked until, in µs. */
  private readonly blocks = new Map<string, number>();
  private readonly compiler: PolicyCompiler;
  private cursor: Iterator<[string, number]> | undefined;

  /** Options: see GcraOptions (marginMs default 30, catchUpMs default 10). */
  constructor(options: GcraOptions = {}) {
    this.compiler = new PolicyCompiler(options);
  }

  tryAcquire(keys: readonly BucketKey[], now: number): Promise<number> {
    try {
      return Promise.resolve(this.acquire(keys, now));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  block(key: string, until: number): Promise<void> {
    const untilUs = toUs(until);
    if (untilUs > (this.blocks.get(key) ?? Number.NEGATIVE_INFINITY)) this.blocks.set(key, untilUs);
    return Promise.resolve();
  }

  /** Deletes every entry that no longer affects a decision at `now` (ms). */
  sweep(now: number): void {
    const nowUs = toUs(now);
    for (const [k, tat] of this.tats) if (tat <= nowUs) this.tats.delete(k);
    for (const [k, until] of this.blocks) if (until <= nowUs) this.blocks.delete(k);
    this.cursor = undefined;
  }

  /** Entries held (window states plus blocks): for tests and metrics. */
  get size(): number {
    return this.tats.size + this.blocks.size;
  }

  private acquire(keys: readonly BucketKey[], now: number): number {
    assertDistinctKeys(keys);
    const nowUs = toUs(now);
    let waitUs = 0;
    let touched = 0;
    for (const { key, policy } of keys) {
      const until = this.blocks.get(key);
      if (until !== undefined && until > nowUs) waitUs = Math.max(waitUs, until - nowUs);
      for (const w of this.compiler.compile(policy)) {
        const tat = this.tats.get(stateKey(w.sig, key));
        if (tat !== undefined) waitUs = Math.max(waitUs, tat - w.toleranceUs - nowUs);
        touched++;
      }
    }
    if (waitUs <= 0) {
      for (const { key, policy } of keys) {
        for (const w of this.compiler.compile(policy)) {
          const sk = stateKey(w.sig, key);
          this.tats.set(sk, Math.max(this.tats.get(sk) ?? nowUs, nowUs) + w.intervalUs);
        }
      }
    }
    this.sweepSome(nowUs - SWEEP_GRACE_US, 2 * touched + 2);
    return waitMs(waitUs);
  }

  /** Looks at `budget` window entries (and, when a pass ends, every block; blocks are rare). */
  private sweepSome(beforeUs: number, budget: number): void {
    for (let i = 0; i < budget; i++) {
      this.cursor ??= this.tats.entries();
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        for (const [k, until] of this.blocks) if (until <= beforeUs) this.blocks.delete(k);
        return;
      }
      const [k, tat] = next.value;
      if (tat <= beforeUs) this.tats.delete(k);
    }
  }
}

/**
 * The incremental sweep keeps entries 1 s past expiry: callers on other async paths may pass a
 * `now` read a little earlier, and for them the entry still matters. (Redis keeps the same slack.)
 */
const SWEEP_GRACE_US = 1_000_000;

const stateKey = (sig: string, key: string): string => `${sig}\u0000${key}`;
