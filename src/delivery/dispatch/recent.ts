/**
 * Recent request times per bucket, to tell whose limit a 429 was: Teams does not say. A
 * conversation's limit (7 requests per second, 8 per 2 s) can only be exceeded by a conversation
 * that had at least `threshold` requests within `windowMs`; otherwise the 429 must be its tenant's.
 *
 * Memory: two generations of at most `windowMs` each. A request is written to the current one;
 * when a generation is older than the window, the previous one is dropped whole and the current
 * one becomes the previous. So a broadcast's million conversations never accumulate (at 5,000
 * requests a second about 20,000 keys are held), and no request pays for a sweep: deleting from a
 * large Map one entry at a time left V8's table full of holes that every sweep walked again.
 */
export class RecentRequests {
  private current = new Map<string, number[]>();
  private previous = new Map<string, number[]>();
  private since = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly windowMs: number,
    private readonly threshold: number,
  ) {}

  /** A request of `key` leaves at `now`. */
  record(key: string, now: number): void {
    this.rotate(now);
    let list = this.current.get(key);
    if (!list) {
      // Still-relevant times of the previous generation come along.
      list = this.previous.get(key)?.filter((t) => now - t <= this.windowMs) ?? [];
      this.current.set(key, list);
    }
    list.push(now);
    if (list.length > this.threshold) list.shift();
  }

  /** Whether `key` had enough requests within the window (up to `now`) to exceed a conversation limit. */
  busy(key: string, now: number): boolean {
    let n = 0;
    const seen = this.current.get(key) ?? this.previous.get(key) ?? [];
    for (const t of seen) if (now - t <= this.windowMs) n++;
    return n >= this.threshold;
  }

  /** Keys held (both generations). */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  private rotate(now: number): void {
    if (now - this.since <= this.windowMs) return;
    // Two windows without a rotation: nothing of either generation can matter any more.
    this.previous = now - this.since > 2 * this.windowMs ? new Map() : this.current;
    this.current = new Map();
    this.since = now;
  }
}
