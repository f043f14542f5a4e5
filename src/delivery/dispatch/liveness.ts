/** When a heartbeat was sent, on both clocks (see `Liveness.fenced`). */
export interface SentAt {
  monotonic: number;
  wall: number;
}

/** Heartbeat intervals between two successful heartbeats that still count as unbroken (config requires staleMs ≥ 4 intervals). */
const maxGap = 2.5;

/**
 * Whether this process may judge another one dead by its old heartbeat (and take over its rows),
 * and whether it must hold its own requests because the others may soon judge it dead (`fenced`).
 *
 * A heartbeat older than staleMs proves its process dead only if the database took heartbeats
 * all that time. After an outage (a failover, a network cut in front of the database) every
 * process's heartbeat is old, the live ones' too: the first process back would take over rows
 * the others are still sending (resent with HERALD_IN_FLIGHT_POLICY=resend, wrongly `unknown`
 * without). So a process judges others only once its own heartbeats have gone through, without a
 * gap, for staleMs: by then every live process reaching the same database has written a fresh one.
 *
 * A gap is two successful heartbeats further apart than two and a half heartbeat intervals: an
 * outage, or this process's event loop stalled (it cannot vouch for that time either). A single
 * failed or skipped heartbeat (a busy connection pool), with its timer's jitter, is no gap. Times
 * are monotonic (performance.now), not the store's clock, whose offset is measured again at every
 * beat.
 */
export class Liveness {
  /** When the current unbroken run of successful heartbeats began (undefined: none yet). */
  private since: number | undefined;
  private last: number | undefined;
  /** When the newest heartbeat the store took was sent (undefined: none yet). */
  private lastWritten: SentAt | undefined;

  constructor(
    private readonly staleMs: number,
    private readonly heartbeatMs: number,
    private readonly monotonic: () => number = () => performance.now(),
    private readonly wall: () => number = () => Date.now(),
  ) {}

  /** A heartbeat went through now. */
  beat(): void {
    const at = this.monotonic();
    if (this.since === undefined || this.last === undefined || at - this.last > maxGap * this.heartbeatMs) this.since = at;
    this.last = at;
  }

  /**
   * How recent, on the store's clock, this process's own heartbeat must be in the statements that
   * judge others (DeliveryStore.recover's `selfBeatSince`): `mayJudgeOthers` is asked once, before
   * a recovery of many statements; a statement that reaches the database only after an outage
   * (queued on a connection cut off meanwhile) then finds this process's heartbeat old too and
   * takes nothing.
   */
  get beatWithinMs(): number {
    return maxGap * this.heartbeatMs;
  }

  /** Now, to stamp a heartbeat as it is sent (see `written`). */
  now(): SentAt {
    return { monotonic: this.monotonic(), wall: this.wall() };
  }

  /** The heartbeat sent at `sentAt` (from `now()`) was written: the others count this process alive from then. */
  written(sentAt: SentAt): void {
    if (this.lastWritten === undefined || sentAt.monotonic > this.lastWritten.monotonic) this.lastWritten = sentAt;
  }

  /**
   * Whether this process must hold its requests (self-fencing): the newest heartbeat the store took
   * was sent more than staleMs minus one interval ago (or none was), so the others may soon judge
   * it dead and take its rows, in flight or marked ahead of their slot. Cut off from the database
   * alone (not from Teams), it would otherwise keep sending them while another process resends
   * them (HERALD_IN_FLIGHT_POLICY=resend) or reports them `unknown`. The interval is left for a
   * request that left just before to be answered (Teams usually answers within a second; one
   * answered slower may still land after a takeover). Heartbeats are timed when sent, not when
   * answered: the database's own time of a heartbeat comes after that. Elapsed time is the longer
   * of the monotonic clock's and the wall clock's: the monotonic one stands still while the
   * machine is suspended (a VM paused, a laptop asleep), when the database's does not; a wall
   * clock stepped forward only fences too early.
   */
  fenced(): boolean {
    const last = this.lastWritten;
    if (last === undefined) return true;
    const elapsed = Math.max(this.monotonic() - last.monotonic, this.wall() - last.wall);
    return elapsed > this.staleMs - this.heartbeatMs;
  }

  /** Whether heartbeats have gone through without a gap for staleMs, the last one recently. */
  mayJudgeOthers(): boolean {
    const now = this.monotonic();
    return (
      this.since !== undefined &&
      this.last !== undefined &&
      now - this.last <= maxGap * this.heartbeatMs &&
      now - this.since >= this.staleMs
    );
  }
}
