import { SlidingLog, type Window } from "./sliding-log.js";

/** Key of a conversation for limits: a user index (1:1 chats) or a thread id. */
export type LimitKey = number | string;

/** Teams' documented per-bot, per-conversation limits (protocol reference, section 6). */
export const teamsWindows = {
  /** Send, reply, update and delete. */
  send: [
    { ms: 1_000, limit: 7 },
    { ms: 2_000, limit: 8 },
    { ms: 30_000, limit: 60 },
    { ms: 3_600_000, limit: 1_800 },
  ],
  /** Create conversation (its own budget, with the same numbers as send). */
  create: [
    { ms: 1_000, limit: 7 },
    { ms: 2_000, limit: 8 },
    { ms: 30_000, limit: 60 },
    { ms: 3_600_000, limit: 1_800 },
  ],
  /** Get members and get conversations (team details, channels). */
  read: [
    { ms: 1_000, limit: 14 },
    { ms: 2_000, limit: 16 },
    { ms: 30_000, limit: 120 },
    { ms: 3_600_000, limit: 3_600 },
  ],
} as const satisfies Record<string, readonly Window[]>;

/** Windows shrunk by a time-scale factor (10 = ten times faster). */
export function scaleWindows(windows: readonly Window[], timeScale: number): Window[] {
  return windows.map((w) => ({ ms: w.ms / timeScale, limit: w.limit }));
}

/**
 * Exact sliding-window limits for many conversations in bounded memory. A conversation seen
 * once within the longest window costs one Map entry holding a number; only conversations
 * with two or more requests get a log. `sweep` forgets conversations idle for longer than
 * the longest window, so memory follows the conversations active in the last hour (scaled).
 */
export class ConversationLimiter {
  private readonly singles = new Map<LimitKey, number>();
  private readonly logs = new Map<LimitKey, SlidingLog>();
  private readonly longest: number;
  private readonly capacity: number;

  constructor(private readonly windows: readonly Window[]) {
    this.longest = Math.max(...windows.map((w) => w.ms));
    this.capacity = Math.max(...windows.map((w) => w.limit));
  }

  /** Admit and record a request at `now` (returns 0), or return the milliseconds to wait. */
  take(key: LimitKey, now: number): number {
    const log = this.logs.get(key);
    if (log) {
      const wait = log.wait(now, this.windows);
      if (wait > 0) return wait;
      log.push(now);
      return 0;
    }
    const single = this.singles.get(key);
    if (single === undefined || now - single >= this.longest) {
      // delete + set keeps the Map in time order, which lets `sweep` stop early.
      if (single !== undefined) this.singles.delete(key);
      this.singles.set(key, now);
      return 0;
    }
    const fresh = new SlidingLog(this.capacity);
    fresh.push(single);
    const wait = fresh.wait(now, this.windows);
    if (wait > 0) return wait;
    fresh.push(now);
    this.singles.delete(key);
    this.logs.set(key, fresh);
    return 0;
  }

  /** Forget conversations whose last request is older than the longest window. */
  sweep(now: number): void {
    const cutoff = now - this.longest;
    for (const [key, t] of this.singles) {
      if (t > cutoff) break;
      this.singles.delete(key);
    }
    for (const [key, log] of this.logs) if (log.last() <= cutoff) this.logs.delete(key);
  }

  /** Conversations currently tracked. */
  get tracked(): number {
    return this.singles.size + this.logs.size;
  }
}

/**
 * One sliding log per tenant: `rps` requests per second (scaled). Fractional rates below 1
 * become one request per `1/rps` seconds; above 1 the limit is `floor(rps)` per second.
 */
export class TenantLimiter {
  private readonly logs: SlidingLog[];
  private readonly windows: Window[];

  constructor(tenants: number, rps: number, timeScale: number) {
    const window = rps >= 1 ? { ms: 1_000 / timeScale, limit: Math.floor(rps) } : { ms: 1_000 / rps / timeScale, limit: 1 };
    this.windows = [window];
    this.logs = Array.from({ length: tenants }, () => new SlidingLog(window.limit));
  }

  /** Milliseconds the request must wait (0 = fits), without recording it. */
  wait(tenant: number, now: number): number {
    return this.logs[tenant]?.wait(now, this.windows) ?? 0;
  }

  record(tenant: number, now: number): void {
    this.logs[tenant]?.push(now);
  }
}
