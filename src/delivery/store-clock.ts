import type { Clock } from "../clock.js";
import { within } from "../within.js";
import type { RateLimiter } from "./limits/rate-limiter.js";

/**
 * The engine's time: the injected Clock moved onto the store's clock. Times written to a shared
 * store by one process and compared by another (heartbeats and the staleness of a worker,
 * `due_at` of retries and Retry-After, scheduled sends, leases) must come from one clock, or a
 * process whose clock is 10 minutes ahead declares live workers dead and one 10 minutes behind is
 * never declared dead. On PostgreSQL that clock is the server's: the offset between the injected
 * Clock and the database's `clock_timestamp()` is measured (midpoint of the round trip, so the
 * error is at most half of it) at start-up, at every heartbeat, and before a request that writes
 * times when the last measure is older than `maxAgeMs`. On SQLite (one process on one machine)
 * the store has no clock of its own: the offset is 0 and the injected Clock is the time, so tests
 * that move a simulated clock keep working.
 *
 * Leases no longer depend on this measure: on PostgreSQL the store writes heartbeats with the
 * database's `now()` and judges staleness against it (src/store/kysely/delivery-control.ts), so
 * a clock that steps between two measures cannot make a live worker look dead. The other times
 * (due times, Retry-After, schedules) still come from here.
 */
export class StoreClock implements Clock {
  private offset = 0;
  private measuredAt: number | undefined;
  private measuring: Promise<void> | undefined;

  constructor(
    private readonly base: Clock,
    /** The store's clock in ms since the epoch, or undefined when the process's clock is the store's. */
    private readonly storeNow: () => Promise<number | undefined>,
    private readonly maxAgeMs: number,
  ) {}

  now(): number {
    return this.base.now() + this.offset;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return this.base.sleep(ms, signal);
  }

  /** A time of this clock on the injected Clock (what the rate limiter and the rest of the process use). */
  toBase(t: number): number {
    return t - this.offset;
  }

  /**
   * Measure the offset now (throws when the store does not answer in time; the last offset stays).
   * Calls while a measure runs share it; one that got no answer ends after maxAgeMs (5 s at
   * least), so that a query stuck on a dead connection does not hold every later measure (and the
   * submits that wait for one) until TCP gives up.
   */
  sync(): Promise<void> {
    this.measuring ??= (async () => {
      try {
        const before = this.base.now();
        // At least 5 s: a slow answer (a busy database, a loaded test machine) is still an answer.
        const store = await within(this.storeNow(), Math.max(this.maxAgeMs, 5_000), "the store's clock");
        const after = this.base.now();
        this.offset = store === undefined ? 0 : Math.round(store - (before + after) / 2);
        this.measuredAt = after;
      } finally {
        this.measuring = undefined;
      }
    })();
    return this.measuring;
  }

  /** Measure again when the last measure is older than maxAgeMs (or the injected clock went back); never throws. */
  async fresh(): Promise<void> {
    const t = this.base.now();
    if (this.measuredAt !== undefined && t >= this.measuredAt && t - this.measuredAt < this.maxAgeMs) return;
    await this.sync().catch(() => undefined);
  }
}

/**
 * The engine passes times of its StoreClock; the limiter, shared with the rest of the process
 * (replies to inbound activities), keeps the injected Clock's: translate them.
 */
export function limiterOnBaseClock(limiter: RateLimiter, clock: StoreClock): RateLimiter {
  return {
    tryAcquire: (keys, now) => limiter.tryAcquire(keys, clock.toBase(now)),
    block: (key, until) => limiter.block(key, clock.toBase(until)),
  };
}
