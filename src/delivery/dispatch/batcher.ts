/**
 * Collects items from many concurrent callers and writes them in one call (one transaction).
 * Flushes run one at a time, in order; a flush takes every item waiting when it STARTS (up to
 * `max`), so while one transaction runs the next batch grows instead of queueing many small
 * ones. The first item after an idle period waits `delayMs` (0 = the next turn of the event
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
  private running: Promise<void> = Promise.resolve();
  /** A flush is queued (timer or chain) and has not taken its items yet. */
  private scheduled = false;
  private queued = 0;
  /** The timer of a lazy flush (only lazy items waiting). */
  private lazyTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly flushFn: (items: T[]) => Promise<R[]>,
    private readonly options: { max: number; delayMs: number; lazyMs?: number },
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
      await this.running;
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
    const enqueue = () => {
      this.running = this.running.then(() => this.flush());
    };
    if (this.options.delayMs > 0) setTimeout(enqueue, this.options.delayMs);
    else setImmediate(enqueue);
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
