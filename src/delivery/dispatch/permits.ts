/**
 * A counting semaphore, FIFO: at most `size` holders at once (requests to Teams in flight).
 * `acquire` resolves when a permit is free; every acquire must be paired with one `release`.
 */
export class Permits {
  private free: number;
  private readonly waiting: { n: number; resolve: () => void }[] = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  acquire(): Promise<void> {
    return this.acquireMany(1);
  }

  /**
   * `n` permits at once (all or none, never some held while waiting for the rest: two callers
   * each holding part of what they need would wait for each other forever). FIFO: a caller
   * waiting for many is not passed by later callers wanting fewer.
   */
  acquireMany(n: number): Promise<void> {
    if (!(n >= 1 && n <= this.size)) return Promise.reject(new RangeError(`Permits: ${n} at once (size ${this.size}).`));
    if (this.waiting.length === 0 && this.free >= n) {
      this.free -= n;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push({ n, resolve }));
  }

  /** Takes a permit if one is free now (and nobody waits for one); false otherwise. */
  tryAcquire(): boolean {
    if (this.free <= 0 || this.waiting.length > 0) return false;
    this.free--;
    return true;
  }

  release(n = 1): void {
    this.free += n;
    for (let next = this.waiting[0]; next && next.n <= this.free; next = this.waiting[0]) {
      this.waiting.shift();
      this.free -= next.n;
      next.resolve();
    }
  }

  /** Permits held right now. */
  get inUse(): number {
    return this.size - this.free;
  }
}
