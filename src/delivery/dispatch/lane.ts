import { setMaxListeners } from "node:events";
import type { Clock } from "../../clock.js";
import type { Logger } from "../../log.js";
import type { BucketKey, RateLimiter } from "../limits/index.js";
import { type Job, type JobResult, type LeasedKey, leasedKey } from "../model.js";
import { type Policies, tenantBucket } from "../policies.js";
import type { DeliveryStore } from "../store/port.js";
import type { Executor } from "./executor.js";
import { carriedOf } from "./outcome.js";
import type { Permits } from "./permits.js";
import type { RecentRequests } from "./recent.js";
import { deliversMessage, type Step, stepBucket, stepOf } from "./steps.js";

export interface LaneDeps {
  owner: string;
  store: DeliveryStore;
  limiter: RateLimiter;
  policies: Policies;
  permits: Permits;
  executor: Executor;
  recent: RecentRequests;
  clock: Clock;
  logger: Logger;
  /** Rows claimed per refill, shared among the notifications that need rows. */
  claimBatch: number;
  /** How long an idle lane sleeps before looking again, in ms. */
  pollMs: number;
  /**
   * Mark rows in flight (committed before the request leaves); resolves false for rows that must
   * not go. `waitMs`: how long the write may wait for others to share it (the lane's next slot is
   * further away than that and the write); default 0.
   */
  markInflight(key: LeasedKey, waitMs?: number): Promise<boolean>;
  /** Queue a result for the batched write. */
  record(result: JobResult): void;
  /**
   * Whether nothing may be sent to the tenant now: its admin disabled the bot, or this process is
   * fenced off (its heartbeats have not reached the database for nearly staleMs, see
   * Liveness.fenced). The lane then gives back what it holds and marked, and waits.
   */
  isPaused(tenantId: string): boolean;
  /** How long sending is paused for the bot's credentials, ms (0 = not paused; see credentials.ts). */
  credentialWait(now: number): number;
  /** Pass the credential gate (the probe when paused; see CredentialGate.enter). */
  credentialEnter(now: number): boolean;
  /** Whether sending is paused for the credentials (CredentialGate.paused). */
  credentialsPaused(): boolean;
  /** A job that passed the gate at `at` did not go (CredentialGate.lost). */
  credentialLost(at: number): void;
  /** Resolves when requests may take slots (see Warmup). */
  warm(): Promise<void>;
  /** Whether requests may take slots at once (the pool is warm): sends are then marked in groups. */
  isWarm(): boolean;
  /** A request finished (answered or failed). */
  answered(): void;
  /** A job that passed `warm()` did not send (see Warmup.skipped). */
  skipped(): void;
  /** Aborted when the engine stops. */
  signal: AbortSignal;
  /**
   * Whether a message of `notificationId` into `conversationId` waits for a reply stored there and
   * not sent yet (WelcomeTracker.holds: an install's welcome goes before any message). Default: never.
   */
  heldForReply?: ((conversationId: string, notificationId: string) => boolean) | undefined;
}

/** Install steps a lane runs at once (each waits in the installer's per-tenant queue). */
const MAX_INSTALLS = 256;

/** How soon a message held back for a reply still on its way (a welcome) is looked at again, in ms. */
const REPLY_RECHECK_MS = 100;

/** A job waiting for its conversation's bucket. */
type Parked = { job: Job; notBefore: number };

/**
 * How far ahead of its tenant slot a send's row is marked in flight, in ms: the sends that the
 * tenant's rate lets go within this time are marked together, one write for all of them. At 50
 * rps that is 10 rows per write instead of 1 (each write is a transaction: at the ceiling they
 * were most of Herald's CPU). A crash leaves at most this many of the tenant's rows marked and
 * unsent (reported as HERALD_IN_FLIGHT_POLICY says), besides the requests in flight.
 */
const STAGE_AHEAD_MS = 200;
/** At most this many rows marked ahead per lane (a high HERALD_TENANT_RPS). */
const MAX_STAGED = 16;

/**
 * A send taken before its tenant slot: permit held, credential gate passed at `entered`, row being
 * marked in flight. `probe`: it entered while sending was paused for the credentials (the one
 * request that probes them); any other passes the gate again when it leaves (see sendStaged).
 */
type Staged = { job: Job; step: Step; entered: number; probe: boolean; marked: Promise<boolean> };

/**
 * Sends a lane marks in one write: one tick of the tenant's window when it has ticks (they leave
 * together), else what the tenant policy lets go within STAGE_AHEAD_MS (at least 1).
 */
export function stageGroup(tenant: Policies["tenant"]): number {
  if (tenant.length === 0) return 1;
  const tick = tickOf(tenant);
  if (tick > 1) return tick;
  return Math.max(1, Math.min(MAX_STAGED, Math.floor(slowestRate(tenant) * STAGE_AHEAD_MS)));
}

/** At most this long, in ms, a mark taken ahead of its tenant slot waits for other lanes' marks to share its write. */
const MAX_STAGED_MARK_WAIT_MS = 10;

/**
 * The longest a mark taken ahead of its tenant slot may wait to share a write (a transaction) with
 * the marks of other lanes, in ms: half the time between two of the tenant's slots, at most
 * MAX_STAGED_MARK_WAIT_MS (10 ms at 50 rps). A lane at its ceiling stages its next group as the
 * last send of the one before takes its slot, so the first of the group is due a slot's time
 * later: the mark, its wait and its write fit in between. The lane passes less, or nothing, when
 * its next slot is nearer (Lane.markWaitAt): a lone send of an idle tenant does not wait. With 20
 * tenants at their ceiling each lane's group of marks was its own transaction (3,240 transactions
 * for 20,000 messages, about 380 µs each on SQLite).
 */
export function stagedMarkWait(tenant: Policies["tenant"]): number {
  if (tenant.length === 0) return 0;
  return Math.min(MAX_STAGED_MARK_WAIT_MS, 0.5 / slowestRate(tenant));
}

/** The tenant's requests per ms in its slowest window (its steady ceiling); call with a limit only. */
function slowestRate(tenant: Policies["tenant"]): number {
  return Math.min(...tenant.map((w) => w.limit / w.windowMs));
}

/** Requests that may take the tenant's slots at once: the smallest group of its windows (LimitWindow.group). */
export function tickOf(tenant: Policies["tenant"]): number {
  return tenant.length === 0 ? 1 : Math.min(...tenant.map((w) => w.group ?? 1));
}

/**
 * A time shorter than between two ticks of the tenant's window, in ms: 90 % of the window's share
 * of one tick (a tick of 10 at 50 per second: 180 ms; the limiter spaces them 209 ms, less the 10
 * ms it lets a late caller catch up). 0 when the window is not grouped.
 */
export function tickSpacingOf(tenant: Policies["tenant"]): number {
  const grouped = tenant.filter((w) => (w.group ?? 1) > 1);
  if (grouped.length === 0 || grouped.length < tenant.length) return 0;
  return 0.9 * Math.min(...grouped.map((w) => (w.windowMs * (w.group ?? 1)) / w.limit));
}

/** How long a lane keeps the permits of a tick while the tick is not due yet, ms (longer: released, taken again). */
const PERMIT_HOLD_MS = 25;

/** A lane logs a failing limiter at most this often (limiterFailed). */
const LIMITER_WARN_MS = 10_000;

/**
 * One tenant's sender. Tenants run in parallel, each in its own lane; inside a lane the
 * notifications take turns (round robin), so a small notification goes out between the messages
 * of a big broadcast instead of after them.
 *
 * Per request, in this order: a permit (bounded requests in flight), the tenant's slot
 * (HERALD_TENANT_RPS; the lane waits for it), the conversation's slot (if refused, the job is
 * parked until then and the lane goes on with others), then the request. Everything is decided
 * BEFORE the request leaves, so Teams has no reason to answer 429. With a tenant limit, a send's
 * row is marked in flight before its tenant slot, together with the sends the tenant's rate lets
 * go in the next STAGE_AHEAD_MS (one write for the group); after the tenant's wait one limiter
 * call takes the tenant's and the conversation's slots at once (see admit).
 *
 * Rows are claimed from the store in batches; a notification whose claim came back empty is
 * looked at again when its next row comes due (retries) or when new rows are announced.
 */
export class Lane {
  private readonly queues = new Map<string, Job[]>();
  private order: string[] = [];
  private turn = 0;
  private readonly parked: Parked[] = [];
  /** Sends marked (or being marked) ahead of their tenant slot, in the order they go. */
  private readonly staged: Staged[] = [];
  private readonly group: number;
  /** Sends that may take the tenant's slots at once (its window's tick; 1: one by one). */
  private readonly tick: number;
  /**
   * One by one (tick 1): a staged send holds its permit from before its row is marked until it
   * leaves or is given back. In ticks it holds none until its tick (tenantTick takes them).
   */
  private readonly stagedHoldPermits: boolean;
  /** Less than the time between two ticks of the tenant's window, ms (0: not grouped). */
  private readonly tickSpacing: number;
  /** The longest a staged send's mark may wait to share its write (stagedMarkWait). */
  private readonly markWait: number;
  /** Time between two of the tenant's slots, ms (one by one). */
  private readonly slotSpacing: number;
  /** The tenant's bucket (the same for every request of the lane). */
  private readonly tenantKey: BucketKey;
  /**
   * About when the lane's next tenant slot comes (its last slot plus slotSpacing, or its next
   * tick; 0: now). The limiter lets a late lane catch up by up to 10 ms, so it may come that much
   * sooner.
   */
  private nextSlotAt = 0;
  /** The lane's next tick is not due before this time (its last tick plus tickSpacing). */
  private tickDue = 0;
  /** Notifications that may have ready rows here → when to look again (0 = now). */
  private readonly lookAt = new Map<string, number>();
  /** Announced since the last claim: claimed at once, whatever is buffered. */
  private readonly fresh = new Set<string>();
  private buffered = 0;
  /** Limiter failures since the last warning, and when that was (limiterFailed). */
  private limiterFailures = 0;
  private limiterWarnedAt = Number.NEGATIVE_INFINITY;
  private executing = 0;
  /** Install steps running (they hold no permit: bounded here instead). */
  private installing = 0;
  /** Install steps waiting for one of MAX_INSTALLS, first come first served: started as steps end, never re-scanned. */
  private readonly awaitingInstall: Job[] = [];
  private readonly installs = new Set<Promise<void>>();
  /** The install steps' signal: one listener on the engine's, many (one per step in flight) here. */
  private installSignal: AbortSignal | undefined;
  private wakeUp: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;

  constructor(
    readonly tenantId: string,
    private readonly deps: LaneDeps,
  ) {
    this.group = stageGroup(deps.policies.tenant);
    this.tick = tickOf(deps.policies.tenant);
    this.stagedHoldPermits = this.tick === 1;
    this.tickSpacing = tickSpacingOf(deps.policies.tenant);
    this.markWait = stagedMarkWait(deps.policies.tenant);
    this.slotSpacing = deps.policies.tenant.length === 0 ? 0 : 1 / slowestRate(deps.policies.tenant);
    this.tenantKey = tenantBucket(deps.policies, tenantId);
  }

  start(): void {
    this.loopDone ??= this.loop().catch((e: unknown) => {
      this.deps.logger.error({ tenantId: this.tenantId, err: (e as Error).message }, "a delivery lane stopped on an error");
    });
  }

  /** Rows of `notificationId` may be ready here (new rows, a retry coming due at `at`). */
  announce(notificationId: string, at?: number): void {
    const known = this.lookAt.get(notificationId);
    if (at === undefined) {
      this.fresh.add(notificationId);
      this.lookAt.set(notificationId, 0);
    } else if (known === undefined || at < known) {
      this.lookAt.set(notificationId, at);
    }
    this.wake();
  }

  /** The notification has nothing left: forget its buffered jobs (their rows were canceled or finished). */
  forget(notificationId: string): void {
    this.lookAt.delete(notificationId);
    this.fresh.delete(notificationId);
    const waiting = this.awaitingInstall.filter((j) => j.notificationId !== notificationId);
    this.buffered -= this.awaitingInstall.length - waiting.length;
    this.awaitingInstall.splice(0, this.awaitingInstall.length, ...waiting);
    const q = this.queues.get(notificationId);
    if (q) {
      this.buffered -= q.length;
      this.queues.delete(notificationId);
      this.order = this.order.filter((id) => id !== notificationId);
    }
  }

  wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  /** Resolves when the loop has ended (after the engine's signal aborted). */
  async stopped(): Promise<void> {
    this.wake();
    await this.loopDone;
    // Install steps hold no permit: wait for them here, so their results are written before the engine stops.
    await Promise.allSettled([...this.installs]);
  }

  /** Jobs held (claimed, waiting, marked ahead of their slot) and being executed. */
  get load(): { buffered: number; executing: number } {
    return { buffered: this.buffered + this.staged.length, executing: this.executing };
  }

  private async loop(): Promise<void> {
    const { clock, signal, permits, policies } = this.deps;
    const lowWater = Math.max(1, Math.floor(this.deps.claimBatch / 2));
    while (!signal.aborted) {
      if (this.deps.isPaused(this.tenantId)) {
        await this.unstage();
        this.releaseHeld();
        await this.sleep(this.deps.pollMs);
        continue;
      }
      // Install steps left waiting while a pause this loop slept through ended the running ones.
      this.startAwaitingInstalls();
      if (this.staged.length > 0) {
        await this.sendStaged();
        continue;
      }
      if (this.fresh.size > 0 || this.buffered < lowWater) await this.refill();
      const job = this.next(clock.now());
      if (!job) {
        await this.sleep(this.idleWait(clock.now()));
        continue;
      }
      const held = this.deps.credentialWait(clock.now());
      if (held > 0) {
        // The credentials fail: nothing leaves until the pause ends (then one probe goes).
        this.requeue(job);
        await this.sleep(held);
        continue;
      }
      const step = stepOf(job);
      if (this.heldForReply(job, step, clock.now())) continue;
      // A proactive install goes to Graph, within the tenant's install budget only: it takes no
      // permit, no tenant message slot and no conversation slot, so installs never slow sends.
      if (step === "create" && this.deps.executor.wantsInstall(job)) {
        // Behind the steps already waiting, never past them.
        if (this.installing >= MAX_INSTALLS || this.awaitingInstall.length > 0) {
          this.awaitingInstall.push(job);
          this.buffered++;
          this.startAwaitingInstalls();
        } else this.launchInstall(job);
        continue;
      }
      if (!this.deps.isWarm()) await this.deps.warm();
      // With a tenant limit, a send's row is marked in flight BEFORE the tenant's slot is taken.
      // The mark is a write (a batch commit: usually a millisecond, sometimes tens); between the
      // slot and the request it would hold back some requests the limiter had spaced and let
      // them leave together with later ones, bunched closer than Teams allows (measured: a few
      // 429s a minute at 3 × 50 rps). Before the slot, its time only delays the lane.
      // The credential gate comes before the mark: at the end of a credential pause only the probe
      // may go, and a row marked and then released would be reported `unknown` by a crash between.
      // Once the pool is warm, the sends of one tick of the tenant's window are taken and marked
      // together (one write), then leave together when the tick comes (sendStaged). In ticks they
      // take their permits (requests in flight) only then, all at once: waiting for a tick holds
      // none. One by one (tick 1) a send takes its permit before its row is marked, as before
      // ticks: a process then never has more rows marked and unsent than HERALD_MAX_IN_FLIGHT
      // (each is reported `unknown` after a crash), however many lanes it runs.
      const staging = deliversMessage(step) && policies.tenant.length > 0;
      // A free permit is taken without a turn of the microtask queue (acquire would answer the same).
      if ((!staging || this.stagedHoldPermits) && !permits.tryAcquire()) await permits.acquire();
      if (staging) {
        const now = clock.now();
        const probe = this.deps.credentialsPaused();
        if (!this.deps.credentialEnter(now)) {
          if (this.stagedHoldPermits) permits.release();
          this.deps.skipped();
          this.requeue(job);
          await this.sleep(Math.max(1, this.deps.credentialWait(clock.now())));
          continue;
        }
        this.stage(job, step, now, probe);
        if (!probe) this.stageMore();
        continue;
      }
      const slot = await this.slotFor(job, step);
      if ("again" in slot) {
        permits.release();
        this.deps.skipped();
        this.giveBack(job, false, slot.again);
        continue;
      }
      this.deps.recent.record(slot.bucket.key, slot.now);
      this.launch(job, step, false, undefined);
    }
    // Stopping: sends marked ahead did not go; their rows go back.
    await this.unstage();
  }

  /** A message into a conversation whose welcome is still on its way: parked for a moment (see LaneDeps.heldForReply). */
  private heldForReply(job: Job, step: Step, now: number): boolean {
    const held = this.deps.heldForReply;
    if (held === undefined || !deliversMessage(step)) return false;
    const conversationId = step === "send" ? job.conversationId : job.targetId;
    if (conversationId === undefined || !held(conversationId, job.notificationId)) return false;
    this.park(job, now + REPLY_RECHECK_MS);
    return true;
  }

  /**
   * Mark a send in flight ahead of its slot: the write goes with the others staged in this turn of
   * the event loop, and with other lanes' marks within markWaitAt.
   */
  private stage(job: Job, step: Step, entered: number, probe: boolean): void {
    const marked = this.deps.markInflight(leasedKey(job), this.markWaitAt(entered));
    this.staged.push({ job, step, entered, probe, marked });
  }

  /**
   * How long a mark staged at `now` may wait to share its write: while the lane's next slot is
   * further away than the wait and as long again for the write (at the ceiling: just after a
   * slot, 20 ms ahead at 50 rps, so 10), at most markWait; 0 when the slot may come sooner (the
   * tenant idle, its first send, a late lane). The slot comes later than the wait and its write
   * as long as the write and the lane's lateness stay within the limiter's 10 ms catch-up (about
   * 20 ms at 50 rps). 0 as well when the slot seems further than a slot or tick away (the clock
   * stepped back), and under 1 ms (a timer would take 1 ms).
   */
  private markWaitAt(now: number): number {
    const ahead = this.nextSlotAt - now;
    if (ahead > Math.max(this.slotSpacing, this.tickSpacing)) return 0;
    const wait = Math.min(this.markWait, ahead - this.markWait);
    return wait < 1 ? 0 : wait;
  }

  /**
   * Stage more sends behind the one just staged, up to the group: only while the pool is warm
   * (the probe goes alone) and the credential gate lets them pass. Stops at the first job that
   * is not a send (it stays first in line).
   */
  private stageMore(): void {
    const { clock, permits } = this.deps;
    if (!this.deps.isWarm()) return;
    while (this.staged.length < this.group) {
      const now = clock.now();
      if (this.deps.credentialsPaused()) return;
      const job = this.next(now);
      if (!job) return;
      const step = stepOf(job);
      if (this.heldForReply(job, step, now)) continue;
      if (!deliversMessage(step) || (this.stagedHoldPermits && !permits.tryAcquire())) {
        this.requeue(job);
        return;
      }
      if (!this.deps.credentialEnter(now)) {
        if (this.stagedHoldPermits) permits.release();
        this.requeue(job);
        return;
      }
      this.stage(job, step, now, false);
    }
  }

  /**
   * The staged sends, in ticks of the tenant's window (up to `tick` at once): once their rows are
   * marked, one limiter call takes the tick's tenant slots for all of them (the lane waits for
   * it), then each takes its conversation's slot and leaves. At the ceiling the lane thus wakes
   * once per tick (10 sends at 50 rps) instead of once per send.
   */
  private async sendStaged(): Promise<void> {
    const { permits } = this.deps;
    const ready: Staged[] = [];
    const oneByOne = this.tick === 1;
    const most = Math.min(this.tick, permits.size);
    while (ready.length < most) {
      const s = this.staged.shift();
      if (!s) break;
      if (await s.marked) ready.push(s);
      else {
        this.deps.credentialLost(s.entered); // recalled or taken over meanwhile: not to be sent
        if (this.stagedHoldPermits) permits.release();
        this.deps.skipped();
      }
    }
    if (ready.length === 0) return;
    // One by one (the tenant's window has no ticks): with the permit taken when it was staged, one
    // limiter call for the tenant's and the conversation's slots together (admit). In ticks: the
    // tick's permits and tenant slots (tenantTick), then each send's conversation slot.
    const again = oneByOne ? 0 : await this.tenantTick(ready.length);
    for (const s of ready) {
      const slot = again !== 0 ? { again } : oneByOne ? await this.slotFor(s.job, s.step) : await this.conversationSlot(s.job, s.step);
      if ("again" in slot) {
        if (again === 0) permits.release();
        this.deps.skipped();
        this.deps.credentialLost(s.entered);
        this.giveBack(s.job, true, slot.again);
        continue;
      }
      this.deps.recent.record(slot.bucket.key, slot.now);
      if (oneByOne) this.nextSlotAt = slot.now + this.slotSpacing;
      let entered = s.entered;
      if (!s.probe) {
        // Staged up to STAGE_AHEAD_MS ago: it passes the gate again as it leaves. Sending may have
        // paused meanwhile (only a probe goes then), and an answer is evidence about the
        // credentials from the time its request left (CredentialGate.judge401, succeeded).
        entered = this.deps.clock.now();
        if (!this.deps.credentialEnter(entered)) {
          permits.release();
          this.deps.skipped();
          this.giveBack(s.job, true, entered + Math.max(1, this.deps.credentialWait(entered)));
          continue;
        }
      }
      this.launch(s.job, s.step, true, entered);
    }
  }

  /**
   * `slots` of the tenant's slots at once (one tick) and a permit for each, waiting for them: 0
   * when taken (the permits held); else when to try again (undefined: stopping, or the tenant got
   * paused; a failing limiter: shortly), no permit held. The permits are taken just before the
   * tick, so that its requests leave at once: the lane first sleeps until about when the tick is
   * due, and holds its permits through a wait of at most PERMIT_HOLD_MS only.
   */
  private async tenantTick(slots: number): Promise<number | undefined> {
    const { limiter, clock, signal, permits } = this.deps;
    const tenant = { ...this.tenantKey, slots };
    let held = false;
    const release = () => {
      if (held) permits.release(slots);
      held = false;
    };
    try {
      // At most tickSpacing: a clock stepping back (NTP; a new measure of the database's clock)
      // must not make the lane sleep for the step (the limiter, on Redis's clock, would not).
      const early = Math.min(this.tickDue - clock.now(), this.tickSpacing);
      if (early > 0) await clock.sleep(early, signal);
      for (;;) {
        if (signal.aborted || this.deps.isPaused(this.tenantId)) {
          release();
          return undefined;
        }
        if (!held) {
          await permits.acquireMany(slots);
          held = true;
          continue; // stopping or paused meanwhile (the wait for permits may be long): nothing leaves
        }
        const now = clock.now();
        const wait = await limiter.tryAcquire([tenant], now);
        if (wait === 0) {
          this.tickDue = now + this.tickSpacing;
          this.nextSlotAt = this.tickDue;
          return 0;
        }
        if (wait > PERMIT_HOLD_MS) release();
        await clock.sleep(wait, signal);
      }
    } catch (e) {
      release();
      if (signal.aborted) return undefined;
      this.limiterFailed(e);
      return clock.now() + this.deps.pollMs;
    }
  }

  /**
   * Log a failing limiter (Redis unreachable) at most once per LIMITER_WARN_MS, with how many
   * failures it stands for: every buffered job asks it, and without Redis's offline queue each
   * fails at once (redis-client.ts), up to a claim batch of warnings a second.
   */
  private limiterFailed(e: unknown): void {
    this.limiterFailures++;
    const now = this.deps.clock.now();
    if (now - this.limiterWarnedAt < LIMITER_WARN_MS) return;
    this.deps.logger.warn(
      { tenantId: this.tenantId, err: (e as Error).message, failures: this.limiterFailures },
      "the rate limiter failed; trying again shortly",
    );
    this.limiterWarnedAt = now;
    this.limiterFailures = 0;
  }

  /** The conversation's slot of a send whose tenant slot is taken: when refused (or the limiter fails), when to try again. */
  private async conversationSlot(job: Job, step: Step): Promise<{ bucket: BucketKey; now: number } | { again: number }> {
    const { limiter, clock, policies } = this.deps;
    const bucket = stepBucket(policies, step, job);
    const now = clock.now();
    try {
      const wait = await limiter.tryAcquire([bucket], now);
      return wait > 0 ? { again: now + wait } : { bucket, now };
    } catch (e) {
      this.limiterFailed(e);
      return { again: clock.now() + this.deps.pollMs };
    }
  }

  /** Staged sends that will not go now (stopping, tenant paused): their rows go back to the store. */
  private async unstage(): Promise<void> {
    for (let s = this.staged.shift(); s; s = this.staged.shift()) {
      const marked = await s.marked;
      this.deps.credentialLost(s.entered);
      if (this.stagedHoldPermits) this.deps.permits.release();
      this.deps.skipped();
      if (marked) this.giveBack(s.job, true, undefined);
    }
  }

  /** admit(), with a failing limiter (Redis unreachable) answered by "again shortly": nothing may leave unchecked. */
  private async slotFor(job: Job, step: Step): Promise<Awaited<ReturnType<Lane["admit"]>>> {
    try {
      return await this.admit(job, step);
    } catch (e) {
      this.limiterFailed(e);
      return { again: this.deps.clock.now() + this.deps.pollMs };
    }
  }

  /**
   * The tenant's slot (waiting for it), then the conversation's. When a slot is not to be had,
   * when to try again (undefined: stopping, or the tenant got paused).
   *
   * Each limiter call is a Redis round trip with RedisRateLimiter. At the ceiling the first call,
   * for the tenant alone, is refused with the wait until its next slot; after that wait ONE call
   * takes both slots (all or none). Only if that is refused (the conversation's limit, or another
   * process took the tenant's slot) are they asked one by one again: two calls per request
   * instead of three.
   */
  private async admit(job: Job, step: Step): Promise<{ bucket: BucketKey; now: number } | { again: number | undefined }> {
    const { limiter, clock, signal, policies } = this.deps;
    const tenant = this.tenantKey;
    const bucket = stepBucket(policies, step, job);
    // Without a tenant limit the tenant's bucket refuses only while Teams throttles the whole
    // tenant: both are asked at once first (one limiter call per request instead of two; three
    // when that is refused, which then asks them one by one as below).
    for (let both = policies.tenant.length === 0; ; ) {
      if (signal.aborted || this.deps.isPaused(this.tenantId)) return { again: undefined };
      const now = clock.now();
      if (both) {
        if ((await limiter.tryAcquire([tenant, bucket], now)) === 0) return { bucket, now };
        both = false;
        continue;
      }
      const wait = await limiter.tryAcquire([tenant], now);
      if (wait === 0) break;
      try {
        await clock.sleep(wait, signal);
      } catch {
        return { again: undefined };
      }
      both = true;
    }
    const now = clock.now();
    const wait = await limiter.tryAcquire([bucket], now);
    return wait > 0 ? { again: now + wait } : { bucket, now };
  }

  /**
   * A job that may not go now. A marked row goes back to the store (due at `at`), keeping the
   * chat a `create` step made for it; an unmarked one waits here, parked until `at` or queued.
   */
  private giveBack(job: Job, premarked: boolean, at: number | undefined): void {
    if (premarked) {
      this.settle({ ...leasedKey(job), kind: "release", dueAt: at, ...carriedOf(job) });
    } else if (at !== undefined) this.park(job, at);
    else this.requeue(job);
  }

  private installAbort(): AbortSignal {
    if (!this.installSignal) {
      const c = new AbortController();
      setMaxListeners(MAX_INSTALLS * 4, c.signal);
      const parent = this.deps.signal;
      if (parent.aborted) c.abort(parent.reason);
      else parent.addEventListener("abort", () => c.abort(parent.reason), { once: true });
      this.installSignal = c.signal;
    }
    return this.installSignal;
  }

  /** The install step of a `create` (Executor.runInstall); its chat comes back as a `send`. */
  private launchInstall(job: Job): void {
    this.installing++;
    const key = leasedKey(job);
    const p: Promise<void> = this.deps.executor
      .runInstall(job, this.installAbort())
      .then(
        (outcome) => {
          if ("next" in outcome) {
            this.requeue(outcome.next);
            this.wake();
          } else if ("done" in outcome) this.settle(outcome.done);
        },
        () => this.settle({ ...key, kind: "release" }),
      )
      .finally(() => {
        this.installing--;
        this.installs.delete(p);
        // The next waiting install step takes this one's place.
        this.startAwaitingInstalls();
      });
    this.installs.add(p);
  }

  /**
   * Start install steps waiting in the FIFO while slots are free: as running steps end, and at
   * each turn of the loop (a pause ended between two of its looks while the running steps ended:
   * none was left to start the waiting ones). Not while stopping or paused: releaseHeld gives
   * them back then.
   */
  private startAwaitingInstalls(): void {
    while (this.installing < MAX_INSTALLS && this.awaitingInstall.length > 0) {
      if (this.deps.signal.aborted || this.deps.isPaused(this.tenantId)) return;
      const waiting = this.awaitingInstall.shift()!;
      this.buffered--;
      this.launchInstall(waiting);
    }
  }

  private launch(job: Job, step: Step, premarked: boolean, entered: number | undefined): void {
    this.executing++;
    const key = leasedKey(job);
    const mark = () => (deliversMessage(step) && !premarked ? this.deps.markInflight(key) : Promise.resolve(true));
    let requested = false;
    void this.deps.executor
      .run(job, step, mark, undefined, entered)
      .then(
        (outcome) => {
          requested = outcome.requested;
          if ("next" in outcome) this.requeue(outcome.next);
          else if ("done" in outcome) this.settle(outcome.done);
        },
        (e: unknown) => {
          this.deps.logger.error(
            { tenantId: this.tenantId, notificationId: job.notificationId, err: (e as Error).message },
            "a delivery step failed unexpectedly",
          );
          this.settle({ ...key, kind: "release" });
        },
      )
      .finally(() => {
        this.executing--;
        this.deps.permits.release();
        // Only a request that left warms the pool (token fetched, connection open); a step that
        // ended without one (recalled, queued survey, install, held back) hands the probe on.
        if (requested) this.deps.answered();
        else this.deps.skipped();
      });
  }

  private settle(result: JobResult): void {
    this.deps.record(result);
    // A retry comes back due at its time; look for it then (and at least once in a while).
    if (result.kind === "retry") this.announce(result.notificationId, result.dueAt);
    else if (result.kind === "release") this.announce(result.notificationId, result.dueAt ?? this.deps.clock.now());
  }

  /** The next job whose turn it is: parked jobs whose time came first, then round robin over notifications. */
  private next(now: number): Job | undefined {
    let best = -1;
    for (let i = 0; i < this.parked.length; i++) {
      const p = this.parked[i]!;
      if (p.notBefore <= now && (best < 0 || p.notBefore < this.parked[best]!.notBefore)) best = i;
    }
    if (best >= 0) {
      this.buffered--;
      return this.parked.splice(best, 1)[0]!.job;
    }
    const n = this.order.length;
    for (let i = 0; i < n; i++) {
      const id = this.order[(this.turn + i) % n]!;
      const q = this.queues.get(id);
      if (q && q.length > 0) {
        this.turn = (this.turn + i + 1) % n;
        this.buffered--;
        return q.shift();
      }
    }
    return undefined;
  }

  /**
   * The tenant is paused: the jobs held here go back to the store, so their rows are not leased
   * for as long as the pause lasts (and can end when it outlasts HERALD_TENANT_DISABLED_TIMEOUT).
   * They are claimed again after a resume.
   */
  private releaseHeld(): void {
    if (this.buffered === 0) return;
    const held = [...this.parked.map((p) => p.job), ...[...this.queues.values()].flat(), ...this.awaitingInstall];
    this.parked.length = 0;
    this.awaitingInstall.length = 0;
    this.queues.clear();
    this.order = [];
    this.turn = 0;
    this.buffered = 0;
    for (const job of held) {
      this.lookAt.set(job.notificationId, 0);
      this.deps.record({ ...leasedKey(job), kind: "release", ...carriedOf(job) });
    }
  }

  private requeue(job: Job): void {
    this.queue(job.notificationId).unshift(job);
    this.buffered++;
  }

  private park(job: Job, notBefore: number): void {
    this.parked.push({ job, notBefore });
    this.buffered++;
  }

  private queue(id: string): Job[] {
    let q = this.queues.get(id);
    if (!q) {
      q = [];
      this.queues.set(id, q);
      this.order.push(id);
    }
    return q;
  }

  /** Claim rows for the notifications whose time to look has come, sharing the batch among them. */
  private async refill(): Promise<void> {
    const { store, clock, owner } = this.deps;
    const now = clock.now();
    const due = [...this.lookAt].filter(([id, at]) => at <= now || this.fresh.has(id)).map(([id]) => id);
    if (due.length === 0) return;
    const share = Math.max(10, Math.ceil(this.deps.claimBatch / due.length));
    for (const id of due) {
      if (this.deps.signal.aborted) return;
      this.fresh.delete(id);
      const held = this.queues.get(id)?.length ?? 0;
      if (held >= share) continue;
      let jobs: Job[];
      try {
        jobs = await store.claim(owner, id, this.tenantId, clock.now(), share - held);
      } catch (e) {
        this.deps.logger.warn(
          { tenantId: this.tenantId, notificationId: id, err: (e as Error).message },
          "claiming rows failed; trying again shortly",
        );
        this.lookAt.set(id, now + this.deps.pollMs);
        continue;
      }
      if (jobs.length > 0) {
        const q = this.queue(id);
        for (const j of jobs) q.push(j);
        this.buffered += jobs.length;
        if (!this.lookAt.has(id)) this.lookAt.set(id, 0);
        continue;
      }
      const next = await store.nextDue(id, this.tenantId).catch(() => now + this.deps.pollMs);
      if (next === undefined) {
        // Nothing ready here now; results of rows in flight or new rows will announce it again.
        this.lookAt.delete(id);
        if ((this.queues.get(id)?.length ?? 0) === 0) this.dropQueue(id);
      } else if (this.lookAt.has(id)) {
        this.lookAt.set(id, Math.max(next, now + 1));
      }
    }
  }

  private dropQueue(id: string): void {
    if (!this.queues.has(id)) return;
    this.queues.delete(id);
    this.order = this.order.filter((o) => o !== id);
    this.turn = 0;
  }

  private idleWait(now: number): number {
    let until = now + this.deps.pollMs;
    for (const p of this.parked) until = Math.min(until, p.notBefore);
    for (const at of this.lookAt.values()) until = Math.min(until, Math.max(at, now + 1));
    return Math.max(1, until - now);
  }

  /** Sleep until `ms` passed, `wake()` is called, or the engine stops. */
  private sleep(ms: number): Promise<void> {
    const ac = new AbortController();
    this.wakeUp = () => ac.abort();
    return this.deps.clock.sleep(ms, AbortSignal.any([ac.signal, this.deps.signal])).then(
      () => undefined,
      () => undefined,
    );
  }
}
