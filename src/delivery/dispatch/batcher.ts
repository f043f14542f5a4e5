/**
 * Collects items from many concurrent callers and writes them in one call (one transaction).
 * At most `concurrency` flushes run at once (default 1: one at a time, in order); a flush takes
 * every item waiting when it STARTS (up to `max`), so while the transactions run the next batch
 * grows instead of queueing many small ones. With 2, the next transaction is already sent
 * while one commits (on PostgreSQL it waits there for the notification's row lock, then runs
 * at once): an item still never shares a flush with one its caller added after the first's
 * answer, so a result never overtakes the in-flight mark of its own send. The first urgent item
 * after an idle period waits `delayMs` (0 = the next turn of the event loop, so everything
 * decided in this turn goes together). Each `add` resolves with the flush's answer for that
 * item, or rejects with the flush's error.
 *
 * An item added with a wait (`add(item, waitMs)`) does not start a flush of its own at once: it
 * waits up to `waitMs` for an urgent item (one added without a wait) and goes in that flush, or in
 * the flush its own time starts (the earliest of the waiting items' times). A result (nothing
 * waits for it but the counters) waits up to resultDelayMs, 100 ms by default: at Teams' ceiling
 * it rides with the next in-flight mark, one transaction per message instead of two. An in-flight
 * mark taken ahead of its tenant slot waits a few ms, less than the time until that slot: the
 * lanes of many tenants at their ceiling then share one transaction instead of one each.
 */
export class Batcher<T, R> {
  private items: T[] = [];
  private waiters: { resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  /** Flushes running (at most `concurrency`). */
  private readonly running = new Set<Promise<void>>();
  /** A flush is queued (timer, or waiting for a running one to end) and has not taken its items yet. */
  private scheduled = false;
  private queued = 0;
  /** The timer of a flush for items that may wait (none urgent waiting), and when it fires (performance.now()). */
  private waitTimer: NodeJS.Timeout | undefined;
  private waitUntil = 0;

  constructor(
    private readonly flushFn: (items: T[]) => Promise<R[]>,
    private readonly options: { max: number; delayMs: number; concurrency?: number },
  ) {}

  /** `waitMs`: how long the item may wait for others to share its flush (0: it starts one now). */
  add(item: T, waitMs = 0): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      this.queued++;
      if (waitMs <= 0 || this.items.length >= this.options.max) this.schedule();
      else if (!this.scheduled) this.flushWithin(waitMs);
    });
  }

  /** A flush at most `waitMs` from now: the timer is moved earlier if it would fire later. */
  private flushWithin(waitMs: number): void {
    const until = performance.now() + waitMs;
    if (this.waitTimer !== undefined) {
      if (this.waitUntil <= until) return;
      clearTimeout(this.waitTimer);
    }
    this.waitUntil = until;
    this.waitTimer = setTimeout(() => {
      // Its time is up: the flush starts in the next turn (not `delayMs` later), so that what other
      // timers due now add goes with it, or when a running one ends.
      this.waitTimer = undefined;
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.start());
    }, waitMs);
  }

  /** Items added and not yet written. */
  get backlog(): number {
    return this.queued;
  }

  /** Resolves when everything added so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.queued > 0) {
      this.schedule();
      await Promise.allSettled([...this.running]);
      if (this.queued > 0) await new Promise((r) => setImmediate(r));
    }
  }

  private schedule(): void {
    if (this.waitTimer !== undefined) {
      clearTimeout(this.waitTimer);
      this.waitTimer = undefined;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.options.delayMs > 0) setTimeout(() => this.start(), this.options.delayMs);
    else setImmediate(() => this.start());
  }

  /** Start the scheduled flush now, or when a running one ends if `concurrency` are running. */
  private start(): void {
    if (!this.scheduled) return; // started already (by the end of a flush, before its timer)
    if (this.running.size >= Math.max(1, this.options.concurrency ?? 1)) return; // the end of one starts it
    const run: Promise<void> = this.flush().finally(() => {
      this.running.delete(run);
      if (this.scheduled) this.start();
    });
    this.running.add(run);
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const items = this.items.splice(0, this.options.max);
    const waiters = this.waiters.splice(0, items.length);
    if (this.items.length > 0) this.schedule();
    if (items.length === 0) return;
    try {
      const answers = await this.flushFn(items);
      for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(answers[i] as R);
    } catch (e) {
      for (const w of waiters) w.reject(e);
    } finally {
      this.queued -= items.length;
    }
  }
}
