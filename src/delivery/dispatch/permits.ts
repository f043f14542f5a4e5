/**
 * A counting semaphore, FIFO: at most `size` holders at once (requests to Teams in flight).
 * `acquire` resolves when a permit is free; every acquire must be paired with one `release`.
 */
export class Permits {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly size: number) {
    this.free = size;
  }

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Takes a permit if one is free now (and nobody waits for one); false otherwise. */
  tryAcquire(): boolean {
    if (this.free <= 0) return false;
    this.free--;
    return true;
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }

  /** Permits held right now. */
  get inUse(): number {
    return this.size - this.free;
  }
}
