/** A limit: at most `limit` requests in any `ms` milliseconds. */
export interface Window {
  ms: number;
  limit: number;
}

/**
 * Exact sliding-window log: the timestamps of the last `capacityMax` admitted requests in a
 * ring (capacityMax = the largest limit, e.g. 1800 for Teams' hourly send limit), grown on
 * demand from 8 so a quiet conversation costs ~100 bytes. A request fits when, for every
 * window, the limit-th most recent admitted request is at least `ms` old.
 */
export class SlidingLog {
  private buf: Float64Array;
  private start = 0;
  private size = 0;

  constructor(private readonly capacityMax: number) {
    this.buf = new Float64Array(Math.min(8, capacityMax));
  }

  /** Milliseconds until a request at `now` fits every window; 0 = it fits now. */
  wait(now: number, windows: readonly Window[]): number {
    let wait = 0;
    for (const w of windows) {
      if (this.size < w.limit) continue;
      const t = this.recent(w.limit);
      const until = t + w.ms - now;
      if (until > wait) wait = until;
    }
    return wait;
  }

  /** Record an admitted request. */
  push(now: number): void {
    if (this.size === this.buf.length && this.size < this.capacityMax) this.grow();
    if (this.size === this.buf.length) {
      this.buf[this.start] = now;
      this.start = (this.start + 1) % this.buf.length;
    } else {
      this.buf[(this.start + this.size) % this.buf.length] = now;
      this.size++;
    }
  }

  /** Timestamp of the most recent request (-Infinity when empty). */
  last(): number {
    return this.size === 0 ? Number.NEGATIVE_INFINITY : this.recent(1);
  }

  /** Timestamp of the n-th most recent request (n >= 1, n <= size). */
  private recent(n: number): number {
    return this.buf[(this.start + this.size - n) % this.buf.length]!;
  }

  private grow(): void {
    const next = new Float64Array(Math.min(this.capacityMax, this.buf.length * 4));
    for (let i = 0; i < this.size; i++) next[i] = this.buf[(this.start + i) % this.buf.length]!;
    this.buf = next;
    this.start = 0;
  }
}
