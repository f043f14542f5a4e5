/**
 * Recent request times per bucket, to tell whose limit a 429 was: Teams does not say. A
 * conversation's limit (7 requests per second, 8 per 2 s) can only be exceeded by a conversation
 * that had at least `threshold` requests within `windowMs`; otherwise the 429 must be its tenant's.
 *
 * Memory: at most `threshold` times per bucket, for buckets with a request within the window only.
 * Old entries are dropped as new ones come (a Map keeps insertion order and an updated key moves
 * to the end), so a broadcast's million conversations never accumulate: at 50 requests per
 * second a few hundred entries are held.
 */
export class RecentRequests {
  private readonly times = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    private readonly threshold: number,
  ) {}

  /** A request of `key` leaves at `now`. */
  record(key: string, now: number): void {
    let list = this.times.get(key);
    if (list) this.times.delete(key);
    else list = [];
    list.push(now);
    if (list.length > this.threshold) list.shift();
    this.times.set(key, list);
    this.prune(now, 4);
  }

  /** Whether `key` had enough requests within the window (up to `now`) to exceed a conversation limit. */
  busy(key: string, now: number): boolean {
    const list = this.times.get(key);
    if (!list) return false;
    let n = 0;
    for (const t of list) if (now - t <= this.windowMs) n++;
    return n >= this.threshold;
  }

  get size(): number {
    return this.times.size;
  }

  /** Looks at up to `budget` of the oldest entries and drops those past the window. */
  private prune(now: number, budget: number): void {
    for (const [k, list] of this.times) {
      if (budget-- <= 0 || now - (list.at(-1) ?? 0) <= this.windowMs) return;
      this.times.delete(k);
    }
  }
}
