/**
 * Collects items from many concurrent callers and writes them in one call (one transaction).
 * At most `concurrency` flushes run at once (default 1: one at a time, in order); a flush takes
 * every item waiting when it STARTS (up to `max`), so while the transactions run the next batch
 * grows instead of queueing many small ones. With 2, the next transaction is already sent
 * while one commits (on PostgreSQL it waits there for the notification's row lock, then runs
 * at once): an item still never shares a flush with one its caller added after the first's
 * answer, so a result never overtakes the in-flight mark of its own send. The first item after an idle period waits `delayMs` (0 = the next turn of the event
 * loop, so everything decided in this turn goes together). Each `add` resolves with the flush's
 * answer for that item, or rejects with the flush's error.
 *
 * A `lazy` item (a result: nothing waits for it but the counters) does not start a flush of its
 * own at once: it waits up to `lazyMs` for an urgent item (an in-flight mark, which a request
 * waits for) and goes in that flush. At Teams' ceiling a result thus rides with the next mark,
 * one transaction per message instead of two; on a fast broadcast the batches grow.
 */
export class Batcher<T, R> {
  private items: T[] = [];
  private waiters: { resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  /** Flushes running (at most `concurrency`). */
  private readonly running = new Set<Promise<void>>();
  /** A flush is queued (timer, or waiting for a running one to end) and has not taken its items yet. */
  private scheduled = false;
  private queued = 0;
  /** The timer of a lazy flush (only lazy items waiting). */
  private lazyTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly flushFn: (items: T[]) => Promise<R[]>,
    private readonly options: { max: number; delayMs: number; lazyMs?: number; concurrency?: number },
  ) {}

  add(item: T, lazy = false): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      this.queued++;
      const lazyMs = this.options.lazyMs ?? 0;
      if (!lazy || lazyMs <= 0 || this.items.length >= this.options.max) this.schedule();
      else if (!this.scheduled && this.lazyTimer === undefined) {
        this.lazyTimer = setTimeout(() => {
          this.lazyTimer = undefined;
          this.schedule();
        }, lazyMs);
      }
    });
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
    if (this.lazyTimer !== undefined) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
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
