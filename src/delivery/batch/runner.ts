import { randomUUID } from "node:crypto";
import type { Clock } from "../../clock.js";
import type { BatchConnector } from "../../connector/batch.js";
import type { OutgoingActivity } from "../../connector/client.js";
import type { Logger } from "../../log.js";
import type { CredentialGate } from "../dispatch/credentials.js";
import type { RateLimiter } from "../limits/index.js";
import type { InFlightPolicy } from "../model.js";
import type { Policies } from "../policies.js";
import type { DeliveryStore } from "../store/port.js";
import { cancelOperation } from "./cancel.js";
import { failedEntries, type OperationDeps, pollUntilDone, submit } from "./operation.js";
import { type BatchGroup, groupRows, isRunningState, memberOf, mustReadFailures, operationOutcomes } from "./outcomes.js";
import type { BatchLiveness, BatchOutcome, BatchStore, ReadyTenant, RunningOperation } from "./port.js";

/** Settings of the batch path (DeliveryConfig.batch). */
export interface BatchSettings {
  /** Recipients per batch request. Default 1000. */
  size: number;
  /** Operations of one notification running at once. Default 4 (each polls, and polls count against the tenant's ceiling). */
  maxOperations: number;
  /** Longest wait between two polls of an operation, in ms; the first waits a quarter of it, then doubles. Default 2000. */
  pollMs: number;
}

/**
 * The process's tenant pauses (403 BotDisabledByAdmin), the dispatcher's: the batch path pauses
 * a tenant as a single send does, and takes and submits nothing of a paused tenant.
 */
export interface TenantPauses {
  isPaused(tenantId: string): boolean;
  /** Tenants paused as this process knows them (the store's pauses, refreshed at each dispatcher poll, and its own). */
  paused(): readonly string[];
  /** Pause the tenant as a single send's 403 does; resolves once the pause is stored. */
  pause(tenantId: string, code: string): Promise<void>;
}

export const defaultBatchSettings: Readonly<BatchSettings> = Object.freeze({ size: 1_000, maxOperations: 4, pollMs: 2_000 });

export interface BatchRunnerDeps {
  store: BatchStore;
  deliveries: Pick<DeliveryStore, "getNotification" | "finishIfDone" | "shared">;
  connector: BatchConnector;
  limiter: RateLimiter;
  policies: Policies;
  clock: Clock;
  logger: Logger;
  settings: BatchSettings;
  inFlightPolicy: InFlightPolicy;
  /** This process's worker id: its heartbeat in the store says it is alive (the dispatcher writes it). */
  owner: string;
  /** A process without a heartbeat for this long (ms) is dead: its batch rows are taken over. */
  staleMs: number;
  /** How often (ms) the runner looks for dead processes' submits and operations. */
  sweepMs: number;
  /**
   * Whether this process may judge others dead by their heartbeats now (Liveness: not until its
   * own heartbeats have gone through for staleMs); default: always. Only a shared store asks it.
   */
  mayJudgeOthers?: (() => boolean) | undefined;
  /** Whether this process holds every request (Liveness.fenced): nothing is taken or submitted meanwhile. Default: never. */
  fenced?: (() => boolean) | undefined;
  /** How recent this process's own heartbeat must be in each statement that judges others (Liveness.beatWithinMs); default: not checked. */
  selfBeatWithinMs?: number | undefined;
  /** The process's credential gate (shared with single sends). */
  credentials: CredentialGate;
  /** Where to send for a tenant when a row names no serviceUrl. */
  serviceUrlOf: (tenantId: string) => string;
  /** The one activity every recipient gets; undefined when the message is personalised (then the rows go one by one). */
  activityOf: (notificationId: string) => Promise<OutgoingActivity | undefined>;
  /** The notification leaves the batch path: the dispatcher sends what is left one by one. */
  handBack: (notificationId: string) => void;
  /** Tenant pauses (BotDisabledByAdmin), shared with single sends. Absent: none (a test's runner). */
  tenants?: TenantPauses | undefined;
  /** Mark a stored conversation blocked or uninstalled, as a single send's 403/404 would (best effort). */
  setConversationStatus?: ((id: string, status: "blocked" | "uninstalled", code: string, at: string) => Promise<unknown>) | undefined;
}

const inFlight = (): BatchOutcome => ({
  status: "unknown",
  code: "HERALD_E_IN_FLIGHT",
  message: "The process submitting this batch stopped before Teams answered; Teams may or may not have started it.",
});

/**
 * The batch path of the delivery engine: takes a batch notification's ready rows in chunks,
 * submits each chunk as one Teams batch operation, polls it to its end and writes every row's
 * outcome. The operation id is on the rows before anything else happens after Teams' 201, so
 * nothing is sent twice. Rows a batch cannot name (group chats, chats to create for Entra ids)
 * and personalised messages go back to the dispatcher.
 *
 * Ownership: the rows a runner takes name its process (`owner`). Every `sweepMs` (and at start)
 * the runner looks for rows whose owner's heartbeat is stale (the individual path's judgement of
 * a lease): their operations it adopts and polls, their unanswered submits follow
 * HERALD_IN_FLIGHT_POLICY. A live process waiting out a long Retry-After keeps its heartbeat, so
 * its submit is never taken for dead.
 */
export class BatchRunner {
  private readonly marked = new Set<string>();
  /**
   * Notifications the batch path left with rows waiting for these tenants' pauses: it keeps only
   * those tenants' rows (submitted in batches after the resume); the dispatcher sends the rest
   * (rows a batch cannot name) as it would once the batch path is done.
   */
  private readonly waiting = new Map<string, ReadonlySet<string>>();
  private readonly loops = new Map<string, Promise<void>>();
  private readonly follows = new Set<Promise<void>>();
  /** Every submit group under way, of every loop: stop() waits for them (see there). */
  private readonly groups = new Set<Promise<void>>();
  /** Submit ids being submitted and operation ids being polled here (BatchLiveness.busy). */
  private readonly busy = new Set<string>();
  private readonly abort = new AbortController();
  private readonly op: OperationDeps;
  private timer: NodeJS.Timeout | undefined;
  /**
   * Set by `start`: a runner never started (an engine that does not run here, `engine: false`)
   * sends nothing. It would send without a heartbeat of its own, and every other process would
   * take its rows for a dead process's; the workers send those notifications.
   */
  private started = false;
  private sweeping: Promise<void> | undefined;
  /** Sweeps also take rows without an owner (BatchLiveness.unowned) until one gets through. */
  private unownedPending = true;

  constructor(private readonly deps: BatchRunnerDeps) {
    this.op = {
      connector: deps.connector,
      limiter: deps.limiter,
      policies: deps.policies,
      clock: deps.clock,
      credentials: deps.credentials,
      pollMs: deps.settings.pollMs,
      // Scaled with the poll interval (tests and a time-scaled emulator poll faster): 500 ms doubling to 30 s by default.
      backoffMs: Math.min(500, deps.settings.pollMs / 4),
      maxBackoffMs: Math.min(30_000, deps.settings.pollMs * 15),
      maxTransient: 8,
      signal: this.abort.signal,
      isPaused: deps.tenants && ((t) => deps.tenants?.isPaused(t) === true),
      pauseTenant: deps.tenants && ((t, code) => deps.tenants?.pause(t, code) ?? Promise.resolve()),
      fenced: deps.fenced,
    };
  }

  /** Whether the notification is on the batch path here. */
  isBatch(notificationId: string): boolean {
    return this.marked.has(notificationId);
  }

  /**
   * Whether the dispatcher leaves the notification's rows of `tenantId` alone: all of them while
   * the batch path works on it; once it waits only for paused tenants, only theirs.
   */
  keeps(notificationId: string, tenantId: string): boolean {
    if (!this.marked.has(notificationId)) return false;
    const waiting = this.waiting.get(notificationId);
    return waiting === undefined || waiting.has(tenantId);
  }

  /** Put a notification on the batch path (before its rows exist, so the dispatcher never claims them). */
  mark(notificationId: string): void {
    this.marked.add(notificationId);
  }

  /** Forget a mark (the notification was not created after all). */
  unmark(notificationId: string): void {
    this.marked.delete(notificationId);
    this.waiting.delete(notificationId);
  }

  /**
   * Before the dispatcher starts: the work of dead processes is taken over (rows taken before
   * owners were recorded too, by their age; sharing the store, only once this process may judge
   * others, see mayJudgeOthers: then by the timer's sweep), notifications among `active` that went
   * through the batch path stay on it, and the sweep starts.
   */
  async start(active: readonly string[]): Promise<void> {
    if (this.started) return; // a second start (after a first that failed further on) adds no second sweep timer
    this.started = true;
    await this.sweep();
    for (const id of await this.deps.store.batchNotifications(active)) this.mark(id);
    for (const id of this.marked) this.kick(id);
    this.timer = setInterval(() => {
      if (this.sweeping || this.abort.signal.aborted) return;
      this.sweeping = this.sweep()
        .catch((e: unknown) => this.deps.logger.warn({ err: (e as Error).message }, "batch recovery sweep failed"))
        .finally(() => {
          this.sweeping = undefined;
        });
    }, this.deps.sweepMs);
    this.timer.unref();
  }

  /**
   * Take over the batch work of dead processes (and this one's orphans: a follow that failed):
   * unanswered submits follow HERALD_IN_FLIGHT_POLICY, operations are adopted and polled here.
   */
  private async sweep(): Promise<void> {
    const { store, clock, deliveries, staleMs, owner, inFlightPolicy, logger } = this.deps;
    const now = clock.now();
    // Sharing the store, others are judged only once this process's heartbeats vouch for the
    // database (Liveness: after an outage every heartbeat is old, the live processes' too).
    if (deliveries.shared && !(this.deps.mayJudgeOthers?.() ?? true)) return;
    const live: BatchLiveness = {
      self: owner,
      staleBefore: now - staleMs,
      now,
      othersAreDead: !deliveries.shared,
      selfBeatSince: this.deps.selfBeatWithinMs === undefined ? undefined : now - this.deps.selfBeatWithinMs,
      busy: this.busy,
      unowned: this.unownedPending,
    };
    const recovered = await store.recoverSubmits(live, inFlightPolicy, inFlight());
    for (const r of recovered) {
      logger.warn({ ...r, policy: inFlightPolicy }, "took over a batch submit of a stopped process");
      if (inFlightPolicy === "resend") {
        this.mark(r.notificationId);
        this.kick(r.notificationId);
      }
    }
    if (recovered.length > 0)
      await deliveries.finishIfDone(
        recovered.map((r) => r.notificationId),
        now,
      );
    if (this.abort.signal.aborted) return;
    for (const op of await store.adoptOperations(live)) {
      this.mark(op.notificationId);
      this.resume(op);
    }
    // Rows without an owner (taken before owners were recorded): looked at until a sweep gets through both steps.
    this.unownedPending = false;
  }

  /** Send what is ready of a batch notification (no-op when already working on it, or before `start`). */
  kick(notificationId: string): void {
    if (!this.started || !this.marked.has(notificationId) || this.loops.has(notificationId) || this.abort.signal.aborted) return;
    const loop = this.run(notificationId)
      .catch((e: unknown) => {
        if (!this.abort.signal.aborted)
          this.deps.logger.error({ notificationId, err: (e as Error).message }, "batch path failed; retrying");
      })
      .finally(() => {
        this.loops.delete(notificationId);
      });
    this.loops.set(notificationId, loop);
  }

  /**
   * Stop: nothing new is submitted, polls end; operations stay on their rows for another process
   * or the next start. A submit already sent is waited for (at most the Connector's answer time):
   * its operation id lands on the rows, so whoever comes next polls it. Stopping without it, the
   * dispatcher retires this process next and the rows are left as a submit in doubt (`unknown`,
   * or sent again under HERALD_IN_FLIGHT_POLICY=resend) though Teams has them.
   */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.abort.abort();
    // Until none is left: a loop in the middle of a take when the abort came still starts its groups.
    while (this.loops.size + this.groups.size + this.follows.size > 0 || this.sweeping)
      await Promise.allSettled([...this.loops.values(), ...this.groups, ...this.follows, this.sweeping]);
  }

  private async run(id: string): Promise<void> {
    const { store, clock, settings, deliveries } = this.deps;
    const running = new Set<Promise<void>>();
    // Tenants whose rows this loop left in the ready queue for a pause since it last took again: a
    // take left them out (the process's pauses, and the store's as the take read them), or a
    // submit gave them back (a 403 BotDisabledByAdmin, or a pause met before it left).
    const pausedOut = new Set<string>();
    for (;;) {
      if (this.abort.signal.aborted) return;
      if (this.deps.fenced?.()) {
        // Nothing is taken while fenced off: the others may be taking this process's work over.
        await clock.sleep(settings.pollMs / 4, this.abort.signal);
        continue;
      }
      while (running.size >= settings.maxOperations) await Promise.race(running);
      const activity = await this.deps.activityOf(id);
      if (!activity) return void (await this.leave(id, running, new Set()));
      const submitId = randomUUID();
      // Busy before the rows exist: a sweep never takes a submit of this process for an orphan.
      this.busy.add(submitId);
      let rows: Awaited<ReturnType<BatchStore["take"]>>;
      try {
        // Nothing of a paused tenant is taken: its rows wait in the ready queue, as single sends' do.
        rows = await store.take(id, submitId, settings.size, clock.now(), this.deps.owner, this.deps.tenants?.paused() ?? [], (t) => {
          for (const x of t) pausedOut.add(x);
        });
      } catch (e) {
        this.busy.delete(submitId);
        throw e;
      }
      if (rows.length === 0) {
        this.busy.delete(submitId);
        const n = await deliveries.getNotification(id);
        if (!n || n.status === "canceled") return void (await this.leave(id, running, new Set()));
        // Not due yet (kicked by start()): it stays on the batch path; the dispatcher's poll kicks it when due.
        if (n.status === "scheduled") return;
        if (n.expansionDone) {
          if (await this.leave(id, running, pausedOut)) return;
          // A tenant left out for a pause was resumed since: take its rows now. Each round needs a
          // new pause and resume; the turn of the event loop keeps a bug here from freezing it.
          pausedOut.clear();
          await new Promise((r) => setImmediate(r));
          continue;
        }
        await clock.sleep(settings.pollMs / 4, this.abort.signal); // the expansion is still writing rows
        continue;
      }
      const groups = groupRows(rows, this.deps.serviceUrlOf).map((g) => {
        const p: Promise<void> = this.group(id, submitId, g, activity, pausedOut)
          .catch((e: unknown) => {
            if (!this.abort.signal.aborted)
              this.deps.logger.error({ notificationId: id, submitId, err: (e as Error).message }, "a batch operation failed");
          })
          .finally(() => {
            running.delete(p);
            this.groups.delete(p);
          });
        running.add(p);
        this.groups.add(p);
        return p;
      });
      void Promise.allSettled(groups).then(() => this.busy.delete(submitId));
    }
  }
  /**
   * Wait for the notification's operations, then hand what is left to the dispatcher, unless rows
   * wait for a paused tenant: those stay on the batch path (the dispatcher's polls kick it again,
   * and once the tenant is resumed they are submitted; HERALD_TENANT_DISABLED_TIMEOUT ends them).
   *
   * It answers false, leaving nothing, when a tenant of `pausedOut` (whose rows the loop left in
   * the ready queue for a pause) is no longer paused and has a due row: the caller takes again.
   * That is a resume landing after the pause kept the rows back and before this check (which
   * first waits for the notification's running operations, possibly minutes); without it those
   * rows went to the dispatcher, one by one. The process's pauses are read before the rows, and
   * the rows with the store's pauses in one statement, so a resume in between shows either as a
   * pause (the rows wait here, and the next kick takes them) or as due rows (taken now), never as
   * nothing waiting. Only tenants kept back for a pause: other due rows (a submit in doubt under
   * HERALD_IN_FLIGHT_POLICY=resend gives its rows back due at once; rows another transaction
   * holds) go to the dispatcher as before, which retries with backoff, not here in a loop.
   */
  private async leave(id: string, running: Set<Promise<void>>, pausedOut: ReadonlySet<string>): Promise<boolean> {
    await Promise.allSettled(running);
    if (this.abort.signal.aborted) return true;
    const paused = this.deps.tenants?.paused() ?? [];
    const ready = await this.deps.store.readyTenants(id, this.deps.clock.now());
    const isPaused = (t: ReadyTenant): boolean => t.paused || paused.includes(t.tenantId);
    if (ready.some((t) => t.due && !isPaused(t) && pausedOut.has(t.tenantId))) return false;
    const waiting = ready.filter(isPaused).map((t) => t.tenantId);
    if (waiting.length > 0) {
      // Only the paused tenants' rows wait here; the rest (rows a batch cannot name) go one by one
      // now. The dispatcher is told when that set changes only: its polls kick this path again.
      const before = this.waiting.get(id);
      const now = new Set(waiting);
      this.waiting.set(id, now);
      if (!before || before.size !== now.size || [...now].some((t) => !before.has(t))) this.deps.handBack(id);
      return true;
    }
    this.marked.delete(id);
    this.waiting.delete(id);
    this.deps.handBack(id);
    return true;
  }

  /** `pausedOut`: the loop's tenants kept back for a pause (see `run`), told when this submit gives its rows back for one. */
  private async group(id: string, submitId: string, g: BatchGroup, activity: OutgoingActivity, pausedOut?: Set<string>): Promise<void> {
    const { store, clock } = this.deps;
    if (g.duplicates.length > 0) {
      const dup: BatchOutcome = {
        status: "canceled",
        code: "HERALD_E_DUPLICATE",
        message: "Another row of this notification names the same recipient.",
      };
      await store.settle(id, { submitId, seqs: g.duplicates }, new Map(), dup, clock.now());
    }
    const seqs = [...g.members.values()];
    const key = `batch-submit:${submitId}:${g.tenantId}:${g.kind}`;
    const r = await submit(this.op, g.serviceUrl, g.kind, g.tenantId, activity, [...g.members.keys()], key);
    if (r.kind === "started") {
      // Busy before the rows name the operation: a sweep never takes it for an orphan.
      this.busy.add(r.operationId);
      try {
        await store.started(id, submitId, seqs, r.operationId, clock.now());
        this.deps.logger.info({ notificationId: id, operationId: r.operationId, recipients: seqs.length }, "batch operation started");
        await this.cancelIfRecalled(id, r.operationId, g.tenantId, g.serviceUrl);
        await this.follow(id, r.operationId, g.tenantId, g.serviceUrl, g.members, g.conversations);
      } finally {
        this.busy.delete(r.operationId);
      }
      return;
    }
    if (r.kind === "notSent") {
      // Herald stops (or is fenced off) before the request left: the rows go back to the queue for
      // whoever sends next. Tried until it lands (fenced, the database may not answer for a while):
      // until then the submit stays busy, so this process's own sweep never takes it for one in doubt.
      await this.untilWritten(() => store.release(id, submitId, seqs, clock.now(), clock.now()), "giving back a submit not sent");
      // As for a pause: once back (and no longer fenced), the loop takes them again rather than
      // handing the notification to the dispatcher, one by one.
      pausedOut?.add(g.tenantId);
      return;
    }
    if (r.kind === "paused" || (r.kind === "tenantDisabled" && this.deps.tenants)) {
      // The admin disabled the bot: as after a single send's 403, the tenant is paused (stored
      // before the rows go back, so no take sees them first) and the rows wait in the ready queue,
      // not failed, no attempt counted, until POST /v1/tenants/{id}/resume (or a user of the tenant
      // interacts) or HERALD_TENANT_DISABLED_TIMEOUT ends them.
      if (r.kind === "tenantDisabled") {
        this.deps.logger.warn({ notificationId: id, submitId, tenantId: g.tenantId, code: r.code }, "a batch submit met a disabled bot");
        await this.deps.tenants?.pause(g.tenantId, r.code);
      }
      pausedOut?.add(g.tenantId);
      await store.release(id, submitId, seqs, clock.now(), clock.now());
      return;
    }
    // In doubt (no answer after the request was written, or a gateway's 502/504): like a submit whose
    // process died, HERALD_IN_FLIGHT_POLICY decides; never a blind resubmit under the default policy.
    // (Not after a recall: the rows end unknown below, never sent again.)
    if (
      r.kind === "inDoubt" &&
      this.deps.inFlightPolicy === "resend" &&
      (await this.deps.deliveries.getNotification(id))?.status !== "canceled"
    ) {
      this.deps.logger.warn({ notificationId: id, submitId, code: r.code }, "a batch submit is in doubt: its rows are sent again (resend)");
      await store.release(id, submitId, seqs, clock.now(), clock.now());
      this.kickLater(id);
      return;
    }
    const outcome: BatchOutcome =
      r.kind === "inDoubt"
        ? {
            ...inFlight(),
            message: `Teams did not answer the batch submit usably (${r.code}: ${r.message}); it may or may not have started it, so it is not sent again (HERALD_IN_FLIGHT_POLICY=unknown).`,
          }
        : r.kind === "tenantDisabled"
          ? { status: "failed", code: `403/${r.code}`, message: r.message } // no tenant pauses here (a runner without a dispatcher)
          : { status: r.outcome, code: r.code, message: r.message };
    await store.settle(id, { submitId, seqs }, new Map(), outcome, clock.now());
    await this.deps.deliveries.finishIfDone([id], clock.now());
  }

  /** `write`, tried again (1 s, then up to 30 s apart) until it lands or the runner stops. */
  private async untilWritten(write: () => Promise<unknown>, what: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await write();
        return;
      } catch (e) {
        if (this.abort.signal.aborted) throw e;
        const delayMs = Math.min(30_000, 1_000 * attempt);
        this.deps.logger.warn({ err: (e as Error).message, attempt, delayMs }, `${what} failed; trying again`);
        await this.deps.clock.sleep(delayMs, this.abort.signal);
      }
    }
  }

  /** Kick the notification once its current loop (if any) ended: released rows are taken again. */
  private kickLater(id: string): void {
    const loop = this.loops.get(id);
    if (loop) void loop.then(() => this.kick(id));
    else this.kick(id);
  }

  /**
   * A notification recalled while this operation's submit was under way: the recall could not
   * see the operation yet, so it is canceled here (its poll then reports what Teams sent).
   */
  private async cancelIfRecalled(id: string, operationId: string, tenantId: string, serviceUrl: string): Promise<void> {
    if ((await this.deps.deliveries.getNotification(id))?.status !== "canceled") return;
    const ok = await cancelOperation(this.op, serviceUrl, tenantId, operationId);
    this.deps.logger.info({ notificationId: id, operationId, canceled: ok }, "batch operation of a recalled notification canceled");
  }

  /** Poll an operation this process adopted (from a dead process, or after a restart). */
  private resume(op: RunningOperation): void {
    if (this.busy.has(op.operationId)) return;
    this.busy.add(op.operationId);
    const members = new Map<string, number>();
    const conversations = new Map<number, string>();
    for (const row of op.rows) {
      const m = memberOf(row);
      if (m) members.set(m.id, row.seq);
      if (row.conversationId !== undefined) conversations.set(row.seq, row.conversationId);
    }
    const serviceUrl = op.serviceUrl ?? this.deps.serviceUrlOf(op.tenantId);
    this.deps.logger.info(
      { notificationId: op.notificationId, operationId: op.operationId },
      "polling a batch operation a stopped process had started",
    );
    const p = this.follow(op.notificationId, op.operationId, op.tenantId, serviceUrl, members, conversations)
      .catch((e: unknown) => {
        if (!this.abort.signal.aborted)
          this.deps.logger.error({ operationId: op.operationId, err: (e as Error).message }, "batch poll failed");
      })
      .finally(() => {
        this.follows.delete(p);
        this.busy.delete(op.operationId);
      });
    this.follows.add(p);
  }

  /** Poll to the end, then write every row's outcome. */
  private async follow(
    id: string,
    operationId: string,
    tenantId: string,
    serviceUrl: string,
    members: ReadonlyMap<string, number>,
    conversations: ReadonlyMap<number, string>,
  ): Promise<void> {
    const { store, clock } = this.deps;
    const state = await pollUntilDone(this.op, serviceUrl, tenantId, operationId, isRunningState);
    // Unless its counts add up to one delivery per recipient, its failed entries (all pages) say who failed.
    const read = state !== undefined && mustReadFailures(state, members.size);
    const entries = read ? await failedEntries(this.op, serviceUrl, tenantId, operationId) : [];
    // Canceled because the notification was recalled (DELETE): rows Teams sent none of end canceled.
    const recalled = state?.state.toLowerCase() === "canceled" && (await this.deps.deliveries.getNotification(id))?.status === "canceled";
    const { outcomes, rest } = operationOutcomes(operationId, state, entries, members, recalled);
    // Later notifications skip these conversations (and the blocked report lists them), as after a single
    // send's 403. Before the rows: once a row shows its outcome, its conversation says so too.
    const set = this.deps.setConversationStatus;
    if (set) {
      const at = new Date(clock.now()).toISOString();
      for (const [seq, o] of outcomes) {
        const conversationId = conversations.get(seq);
        if (!conversationId || (o.status !== "blocked" && o.status !== "notFound")) continue;
        await set(conversationId, o.status === "blocked" ? "blocked" : "uninstalled", o.code, at).catch((e: unknown) =>
          this.deps.logger.warn({ conversationId, err: (e as Error).message }, "could not record a conversation's status"),
        );
      }
    }
    const moved = await store.settle(id, { operationId }, outcomes, rest, clock.now());
    this.deps.logger.info({ notificationId: id, operationId, rows: moved, failed: outcomes.size }, "batch operation settled");
    await this.deps.deliveries.finishIfDone([id], clock.now());
  }
}
