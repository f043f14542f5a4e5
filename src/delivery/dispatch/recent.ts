/**
 * The last two request times of each bucket, for the last `windowMs` only: enough to tell whether
 * a 429 can be a conversation's (it had another request shortly before) or must be its tenant's
 * (a lone request cannot exceed a per-conversation limit). Entries older than the window are
 * dropped as new ones come (a Map keeps insertion order and an updated key moves to the end), so
 * it holds only the buckets active in the window: a few hundred at 50 requests per second, never
 * a broadcast's million.
 */
export class RecentRequests {
  private readonly times = new Map<string, [last: number, previous: number | undefined]>();

  constructor(private readonly windowMs: number) {}

  /** A request of `key` leaves at `now`. */
  record(key: string, now: number): void {
    const entry = this.times.get(key);
    if (entry) this.times.delete(key);
    this.times.set(key, [now, entry?.[0]]);
    this.prune(now, 4);
  }

  /** Whether the latest request of `key` had another one within the window before it. */
  busy(key: string): boolean {
    const entry = this.times.get(key);
    return entry !== undefined && entry[1] !== undefined && entry[0] - entry[1] <= this.windowMs;
  }

  get size(): number {
    return this.times.size;
  }

  /** Looks at up to `budget` of the oldest entries and drops those past the window. */
  private prune(now: number, budget: number): void {
    for (const [k, [last]] of this.times) {
      if (budget-- <= 0 || now - last <= this.windowMs) return;
      this.times.delete(k);
    }
  }
}
