/**
 * Whether this process may judge another one dead by its old heartbeat (and take over its rows).
 *
 * A heartbeat older than staleMs proves its process dead only if the database took heartbeats
 * all that time. After an outage (a failover, a network cut) every process's heartbeat is old,
 * the live ones' too: the first process back would take over rows the others are still sending
 * (resent with HERALD_IN_FLIGHT_POLICY=resend, wrongly `unknown` without). So a process judges
 * others only once its own heartbeats have succeeded, without a gap, for staleMs: by then every
 * live process reaching the same database has written a fresh one.
 *
 * A gap is a failed heartbeat, or two successful ones further apart than two heartbeat intervals
 * (this process's event loop stalled, or its writes hung: it cannot vouch for that time either).
 */
export class Liveness {
  /** When the current unbroken run of successful heartbeats began (undefined: none yet, or broken). */
  private since: number | undefined;
  private last: number | undefined;

  constructor(
    private readonly staleMs: number,
    private readonly heartbeatMs: number,
  ) {}

  /** A heartbeat written at `at` (ok), or one that failed. */
  beat(ok: boolean, at: number): void {
    if (!ok) {
      this.since = undefined;
      this.last = undefined;
      return;
    }
    if (this.since === undefined || this.last === undefined || at - this.last > 2 * this.heartbeatMs || at < this.last) this.since = at;
    this.last = at;
  }

  /** Whether heartbeats have succeeded without a gap for staleMs up to `now`. */
  mayJudgeOthers(now: number): boolean {
    return (
      this.since !== undefined && this.last !== undefined && now - this.last <= 2 * this.heartbeatMs && now - this.since >= this.staleMs
    );
  }
}
