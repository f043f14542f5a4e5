/**
 * Collects items from many concurrent callers and writes them in one call (one transaction).
 * Flushes run one at a time, in order; a flush takes every item waiting when it STARTS (up to
 * `max`), so while one transaction runs the next batch grows instead of queueing many small
 * ones. The first item after an idle period waits `delayMs` (0 = the next turn of the event
 * loop, so everything decided in this turn goes together). Each `add` resolves with the flush's
 * answer for that item, or rejects with the flush's error.
 */
export class Batcher<T, R> {
  private items: T[] = [];
  private waiters: { resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private running: Promise<void> = Promise.resolve();
  /** A flush is queued (timer or chain) and has not taken its items yet. */
  private scheduled = false;
  private queued = 0;

  constructor(
    private readonly flushFn: (items: T[]) => Promise<R[]>,
    private readonly options: { max: number; delayMs: number },
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      this.queued++;
      this.schedule();
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
