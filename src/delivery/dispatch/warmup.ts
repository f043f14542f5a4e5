/**
 * The first request of a process goes alone: it waits for the Connector token and opens the
 * first connection (a few hundred ms). Requests admitted by the rate limiter meanwhile would all
 * leave together when the token comes and arrive at Teams bunched, above the rate the limiter
 * meant; so no other request takes a slot until the first one has been answered.
 *
 * The job that enters first (the probe) may still not send: no slot for its conversation, its row
 * recalled or taken over, the credential gate closed. It then hands the probe to the next job
 * waiting (`skipped`); otherwise every other job would wait for an answer that never comes, and
 * the process would send nothing again (and hang in stop()).
 */
export class Warmup {
  private state: "cold" | "probing" | "open" = "cold";
  private readonly waiting: (() => void)[] = [];

  /** Resolves when the caller may take a slot: at once for the probe and once the pool is warm. */
  enter(): Promise<void> {
    if (this.state === "open") return Promise.resolve();
    if (this.state === "cold") {
      this.state = "probing";
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Whether the pool is warm: every caller may take a slot at once. */
  get isOpen(): boolean {
    return this.state === "open";
  }

  /** The job that entered did not send: while probing, the next waiting job probes instead. */
  skipped(): void {
    if (this.state !== "probing") return;
    const next = this.waiting.shift();
    if (next) next();
    else this.state = "cold";
  }

  /** A request was answered (or the engine stops): everyone may go. */
  open(): void {
    this.state = "open";
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}
