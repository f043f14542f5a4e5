/**
 * Collects items from many concurrent callers and writes them in one call (one transaction):
 * the first item schedules a flush after `delayMs` (0 = the next turn of the event loop, so
 * everything decided in this turn goes together); at `max` items a flush starts at once. Flushes
 * run one at a time, in order; items added during a flush go in the next one. Each `add` resolves
 * with the flush's answer for that item, or rejects with the flush's error.
 */
export class Batcher<T, R> {
  private items: T[] = [];
  private waiters: { resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private timer: { cancel(): void } | undefined;
  private running: Promise<void> = Promise.resolve();
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
      if (this.items.length >= this.options.max) this.flushSoon(true);
      else this.flushSoon(false);
    });
  }

  /** Items added and not yet written. */
  get backlog(): number {
    return this.queued;
  }

  /** Resolves when everything added so far is written (or failed). */
  async drain(): Promise<void> {
    while (this.queued > 0 || this.timer !== undefined) {
      if (this.timer !== undefined) this.flushSoon(true);
      await this.running;
    }
  }

  private flushSoon(now: boolean): void {
    if (this.timer !== undefined && !now) return;
    this.timer?.cancel();
    this.timer = undefined;
    if (now) {
      this.chain();
      return;
    }
    if (this.options.delayMs > 0) {
      const t = setTimeout(() => this.fire(), this.options.delayMs);
      this.timer = { cancel: () => clearTimeout(t) };
    } else {
      const t = setImmediate(() => this.fire());
      this.timer = { cancel: () => clearImmediate(t) };
    }
  }

  private fire(): void {
    this.timer = undefined;
    this.chain();
  }

  private chain(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.running = this.running.then(async () => {
      try {
        const answers = await this.flushFn(items);
        waiters.forEach((w, i) => w.resolve(answers[i] as R));
      } catch (e) {
        for (const w of waiters) w.reject(e);
      } finally {
        this.queued -= items.length;
      }
    });
  }
}
