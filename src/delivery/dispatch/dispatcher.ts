import type { Clock } from "../../clock.js";
import type { ConnectorClient } from "../../connector/client.js";
import type { Logger } from "../../log.js";
import type { ConversationStore } from "../../store/ports.js";
import { NoAnswer, within } from "../../within.js";
import type { DirectoryGraph } from "../audience/directory-graph.js";
import { runExpansion } from "../audience/stream.js";
import type { DeliveryConfig } from "../config.js";
import type { Installer } from "../install/installer.js";
import type { TeamReach } from "../install/team-reach.js";
import type { RateLimiter } from "../limits/index.js";
import { type JobResult, type LeasedKey, leasedKeyString, type NewDelivery, type Notification } from "../model.js";
import type { Policies } from "../policies.js";
import type { DeliveryStore, RecipientDirectory, TenantPause } from "../store/port.js";
import { Batcher } from "./batcher.js";
import { CredentialGate, type CredentialState } from "./credentials.js";
import { Executor } from "./executor.js";
import { Lane } from "./lane.js";
import { Liveness } from "./liveness.js";
import { MessageCache } from "./messages.js";
import { Permits } from "./permits.js";
import { RecentRequests } from "./recent.js";
import type { SurveyHook } from "./survey-hook.js";
import { Warmup } from "./warmup.js";
import { watched } from "./watched.js";

export interface DispatcherDeps {
  owner: string;
  store: DeliveryStore;
  directory: RecipientDirectory;
  conversations: ConversationStore;
  connector: ConnectorClient;
  limiter: RateLimiter;
  policies: Policies;
  clock: Clock;
  /** Measure `clock` against the store's clock again (StoreClock.sync): at start-up and before every heartbeat. */
  syncClock?: () => Promise<void>;
  config: Readonly<DeliveryConfig>;
  logger: Logger;
  random: () => number;
  /** Places a streamed page's rows by the notification's local-time schedule (src/delivery/schedule); default: as they are. */
  placeRows?: ((n: Notification, rows: NewDelivery[]) => Promise<NewDelivery[]>) | undefined;
  /** Proactive installation before a user's chat is created (src/delivery/install). */
  installer?: Installer | undefined;
  /** Microsoft Graph for group audiences and `includeUninstalled`. */
  graph?: DirectoryGraph | undefined;
  /** Installs the app in teams of an audience named by group id where the bot is missing (HERALD_AUTO_INSTALL). */
  teams?: TeamReach | undefined;
  /** Starts or queues surveys (src/surveys); without it survey rows fail. */
  surveys?: SurveyHook | undefined;
  /** The process's credential gate, when another sender (the batch path) shares it; default: a new one. */
  credentials?: CredentialGate | undefined;
  /** Whether this process may judge others dead, shared with the batch path; default: a new one. */
  liveness?: Liveness | undefined;
  /** Notifications this process saw finish (see `finished`). */
  onFinished?: ((ids: readonly string[]) => void) | undefined;
  /** A message waits for a reply on its way in the same conversation (LaneDeps.heldForReply). */
  heldForReply?: ((conversationId: string, notificationId: string) => boolean) | undefined;
}

/** An item of the batched write: a row about to be sent, or a request's outcome. */
type Write = { mark: LeasedKey } | { result: JobResult };

/** Counters of what this process did since it started (metrics, tests, benchmarks). */
export interface DispatchStats {
  requests: number;
  sent: number;
  retried: number;
  throttled: number;
  failed: number;
  /** Sends that may have reached Teams and were not repeated (HERALD_IN_FLIGHT_POLICY=unknown). */
  unknown: number;
  resultsWritten: number;
  writeBatches: number;
}

/**
 * Runs the delivery work of one process: a lane per tenant, a bounded number of requests in
 * flight, the batched writes (in-flight marks before requests leave, results after), streaming
 * expansions, the directory of notifications with work (polled, so several processes share it),
 * liveness (heartbeat) and the recovery of dead processes' work.
 */
export class Dispatcher {
  readonly messages: MessageCache;
  readonly stats: DispatchStats = {
    requests: 0,
    sent: 0,
    retried: 0,
    throttled: 0,
    failed: 0,
    unknown: 0,
    resultsWritten: 0,
    writeBatches: 0,
  };
  private readonly lanes = new Map<string, Lane>();
  private readonly paused = new Set<string>();
  /** Tenants resumed here → the value of `resumeCount` at that resume (read by poll, cleared after it). */
  private readonly resumes = new Map<string, number>();
  private resumeCount = 0;
  private readonly expansions = new Map<string, Promise<void>>();
  private readonly side = new Set<Promise<unknown>>();
  private readonly permits: Permits;
  private readonly executor: Executor;
  private readonly recent: RecentRequests;
  /**
   * In-flight marks and results, written together: one transaction per turn of the event loop, or
   * per few ms for marks taken ahead of their slot and per resultDelayMs for results (Batcher).
   */
  private readonly writes: Batcher<Write, boolean>;
  private readonly abort = new AbortController();
  private readonly warmup = new Warmup();
  private readonly credentials: CredentialGate;
  private readonly liveness: Liveness;
  private timers: NodeJS.Timeout[] = [];
  /** The heartbeat timer (also in `timers`): stop() keeps it until the process retires. */
  private heartbeats: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  private beating = false;
  /** A measure of the clock runs after a heartbeat (see `measure`). */
  private measuring = false;
  /** A takeover of dead processes' work runs (see `measure`). */
  private recovering = false;
  /** Whether the last beat found this process fenced (see `fenced`): its change is logged once. */
  private wasFenced = false;
  private started = false;

  constructor(private readonly deps: DispatcherDeps) {
    const { config, store, clock } = deps;
    this.messages = new MessageCache((id) => store.getNotification(id));
    this.permits = new Permits(config.maxInFlight);
    // Teams' per-conversation limits start at 7 requests per second and 8 per 2 s: fewer than 7
    // requests within 2 s cannot exceed them.
    const sendLimit = Math.min(...deps.policies.send.map((w) => w.limit));
    this.recent = new RecentRequests(2_000 / config.timeScale, sendLimit);
    this.credentials = deps.credentials ?? new CredentialGate(clock, deps.logger, config.credentialBackoff);
    this.liveness = deps.liveness ?? new Liveness(config.staleMs, config.heartbeatMs);
    this.executor = new Executor({
      connector: deps.connector,
      conversations: deps.conversations,
      messages: this.messages,
      limiter: deps.limiter,
      policies: deps.policies,
      recent: this.recent,
      clock,
      config,
      logger: deps.logger,
      random: deps.random,
      pauseTenant: (tenantId, code) => this.pause(tenantId, code),
      // Fenced too: a send whose mark (or message read) took long leaves only if still allowed.
      isPaused: (tenantId) => this.paused.has(tenantId) || this.fenced(),
      credentials: this.credentials,
      track: (p) => this.track(p),
      claimChat: (key, chat) => deps.store.claimChat(deps.owner, key, chat, clock.now()),
      installer: deps.installer,
      surveys: deps.surveys,
    });
    this.writes = new Batcher((items) => this.write(items), {
      max: config.batchMax,
      delayMs: config.batchDelayMs,
      // A database server (PostgreSQL): the next write is sent while one commits (each round
      // trip waits for the server's process; see Batcher). SQLite writes in this process: one.
      concurrency: store.shared ? 2 : 1,
    });
  }

  /** Register, recover dead processes' work, load the directory, start polling and heartbeats. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const { store, clock, owner, config } = this.deps;
    try {
      await this.deps.syncClock?.();
      const sentAt = this.liveness.now();
      // Bounded (a dead connection), but generously: a slow first answer is still one.
      await within(store.heartbeat(owner, clock.now()), Math.max(config.staleMs, 10_000), "the first heartbeat");
      this.liveness.written(sentAt);
    } catch (e) {
      this.started = false; // start() may be called again
      throw e;
    }
    this.liveness.beat();
    // Processes sharing the store are judged only after this one has beaten for staleMs (Liveness).
    if (!store.shared) await this.recover();
    await this.poll();
    this.timers.push(setInterval(() => void this.poll(), config.pollMs));
    this.heartbeats = setInterval(() => {
      // Here, not only after a beat: a beat stuck on a dead connection must not hide the fence.
      this.reportFence();
      // One at a time: a slow database must not stack heartbeats (one unanswered for
      // heartbeatLimitMs is followed by the next at once, inside beat()).
      if (this.beating) return;
      this.beating = true;
      this.track(this.beat().finally(() => (this.beating = false)));
    }, config.heartbeatMs);
    this.timers.push(this.heartbeats);
    for (const t of this.timers) t.unref();
  }

  /**
   * One heartbeat, then (beside the next ones) a measure of the clock against the store's and
   * maybe a takeover of the work of processes that stopped beating (`measure`). A heartbeat counts
   * from when it was sent whenever it is answered. But one without an answer within
   * `heartbeatLimitMs` (a query stuck on a dead connection, no answer, no reset) no longer holds
   * `beating`: the next goes at once, on another connection, instead of every later heartbeat
   * waiting until TCP gives up, minutes later.
   */
  private async beat(): Promise<void> {
    const { store, clock, owner, logger } = this.deps;
    for (let attempt = 1; attempt <= 2; attempt++) {
      const sentAt = this.liveness.now();
      const heartbeat = store.heartbeat(owner, clock.now());
      void heartbeat.then(
        () => {
          this.liveness.written(sentAt);
          this.reportFence();
        },
        () => undefined,
      );
      const answered = await within(heartbeat, this.heartbeatLimitMs, "the heartbeat").then(
        () => "written" as const,
        (e: unknown) => {
          logger.warn({ err: (e as Error).message }, "heartbeat failed");
          return e instanceof NoAnswer ? ("none" as const) : ("failed" as const);
        },
      );
      this.reportFence();
      if (answered === "none") continue;
      // Never in the heartbeats' way: a measure of the clock stuck on a dead connection (until
      // StoreClock.sync gives up) must not delay the next heartbeat, or the others would take this
      // process for dead.
      if (answered === "written" && !this.measuring && !this.abort.signal.aborted) {
        this.measuring = true;
        this.track(this.measure().finally(() => (this.measuring = false)));
      }
      return;
    }
  }

  /**
   * How long a heartbeat may go unanswered before the next one goes: two intervals, 1 s at least
   * (a slow answer is still one, and counts when it comes), and short enough that the newest
   * written heartbeat (one interval before the stuck one) and the next one, sent right away, stay
   * closer than the fence (staleMs minus an interval) even at the smallest staleMs allowed
   * (4 intervals).
   */
  private get heartbeatLimitMs(): number {
    const { heartbeatMs, staleMs } = this.deps.config;
    return Math.min(Math.max(2 * heartbeatMs, 1_000), staleMs - 2.5 * heartbeatMs);
  }

  /**
   * After a heartbeat went through: measure the clock against the store's again, then (beside the
   * next heartbeats and measures, one at a time) take over the work of processes that stopped
   * beating. Recovery compares their heartbeats with this clock, so it starts only right after a
   * successful measurement (a step of this machine's clock, NTP or a VM resume, would otherwise
   * declare live workers dead), and only once this process's own heartbeats have gone through for
   * staleMs without a gap (after a database outage every heartbeat is old, the live processes'
   * too: see Liveness). A long takeover (many notifications, lock waits) holds neither the
   * heartbeats nor the measures that keep the gate open.
   */
  private async measure(): Promise<void> {
    const { store, logger } = this.deps;
    const synced = await Promise.resolve(this.deps.syncClock?.()).then(
      () => true,
      (e: unknown) => {
        logger.warn({ err: (e as Error).message }, "reading the database's clock failed");
        return false;
      },
    );
    if (!synced) return;
    this.liveness.beat();
    if (!store.shared || this.recovering || this.abort.signal.aborted || !this.liveness.mayJudgeOthers()) return;
    this.recovering = true;
    this.track(
      this.recover()
        .catch((e: unknown) => logger.warn({ err: (e as Error).message }, "recovery failed"))
        .finally(() => (this.recovering = false)),
    );
  }

  /** Log when this process becomes fenced and when it is no longer; the lanes resume at once then. */
  private reportFence(): void {
    const fenced = this.fenced();
    if (fenced === this.wasFenced) return;
    this.wasFenced = fenced;
    const { logger, config } = this.deps;
    if (fenced)
      logger.error(
        { staleMs: config.staleMs },
        "this process's heartbeats have not reached the database for nearly staleMs: it holds every request (the others may take over its rows) until one does",
      );
    else {
      logger.warn("heartbeats reach the database again: sending resumes");
      for (const lane of this.lanes.values()) lane.wake();
    }
  }

  /** New rows of a notification in these tenants (submitted here, or a page of an expansion). */
  announce(notificationId: string, tenants: readonly string[]): void {
    // An engine that was never started (e.g. a process that only accepts requests) leaves the work to the workers.
    if (!this.started || this.abort.signal.aborted) return;
    for (const t of tenants) this.lane(t).announce(notificationId);
  }

  /** Start (or continue) a streaming expansion in this process, unless another holds it. */
  expand(notificationId: string): void {
    if (!this.started || this.abort.signal.aborted || this.expansions.has(notificationId)) return;
    const run = (async () => {
      const { store, owner, clock } = this.deps;
      const claim = await store.claimExpansion(notificationId, owner, clock.now());
      if (!claim) return;
      const n = await store.getNotification(notificationId);
      if (!n) return;
      await runExpansion(n, claim.cursor, {
        store,
        directory: this.deps.directory,
        connector: this.deps.connector,
        graph: this.deps.graph,
        teams: this.deps.teams,
        limiter: this.deps.limiter,
        policies: this.deps.policies,
        clock,
        config: this.deps.config,
        logger: this.deps.logger,
        random: this.deps.random,
        credentials: this.credentials,
        owner,
        announce: (id, tenants) => this.announce(id, tenants),
        signal: this.abort.signal,
        placeRows: this.deps.placeRows,
      });
      await this.finish([notificationId]);
    })()
      .catch((e: unknown) =>
        this.deps.logger.error({ notificationId, err: (e as Error).message }, "expansion failed; it resumes at the next poll"),
      )
      .finally(() => this.expansions.delete(notificationId));
    this.expansions.set(notificationId, run);
  }

  pause(tenantId: string, code: string): void {
    if (this.paused.has(tenantId)) return;
    this.paused.add(tenantId);
    this.deps.logger.warn({ tenantId, code }, "the tenant's admin disabled the bot: sending to it is paused until a user of it interacts");
    this.track(this.deps.store.pauseTenant(tenantId, code, this.deps.clock.now()));
  }

  async resume(tenantId: string): Promise<boolean> {
    // A poll that read the pauses before this resume must not add the tenant back (see poll).
    this.resumes.set(tenantId, ++this.resumeCount);
    const was = await this.deps.store.resumeTenant(tenantId);
    const local = this.paused.delete(tenantId);
    this.lanes.get(tenantId)?.wake();
    return was || local;
  }

  isPaused(tenantId: string): boolean {
    return this.paused.has(tenantId);
  }

  /**
   * Whether this process holds every request because its heartbeats have not reached the database
   * for nearly staleMs (Liveness.fenced): the others may take it for dead. Only a shared store: a
   * store one process owns has nobody else to take its rows.
   */
  fenced(): boolean {
    return this.started && this.deps.store.shared && this.liveness.fenced();
  }

  /** Tenants paused as this process knows them (BotDisabledByAdmin; the batch path takes none of their rows). */
  pausedTenants(): string[] {
    return [...this.paused];
  }

  /** Whether sending is paused because the bot's credentials fail (`/readyz`, metrics). */
  credentialState(): CredentialState {
    return this.credentials.state();
  }

  /** Look for work now (after an edit or a recall) instead of at the next poll. */
  kick(): void {
    void this.poll();
  }

  /**
   * Stop taking work, finish requests in flight, write their results, give claimed rows back,
   * and wait for `before` (the batch path's submits waiting for their answers) before retiring:
   * heartbeats go on until then, so no other process takes this one's work for a dead one's.
   * When `before` answers false (submits still unanswered), the worker's row stays: the others
   * judge that work by its last heartbeat, as a dead process's, rather than at once.
   */
  async stop(before?: Promise<boolean>): Promise<void> {
    if (this.abort.signal.aborted) return;
    this.abort.abort();
    this.warmup.open(); // lanes waiting to warm up see the abort and end
    for (const t of this.timers) if (t !== this.heartbeats) clearInterval(t);
    const phase = (name: string, wait: () => Promise<unknown>) => watched(this.deps.logger, `engine: ${name}`, wait);
    await phase("lanes", () => Promise.allSettled([...this.lanes.values()].map((l) => l.stopped())));
    await phase("requests in flight", async () => {
      while (this.permits.inUse > 0) await new Promise((r) => setTimeout(r, 5));
    });
    await phase("audience expansions", () => Promise.allSettled([...this.expansions.values()]));
    await phase("polling", () => Promise.resolve(this.polling));
    await phase("result writes", () => this.writes.drain());
    const finished = before === undefined || (await phase("batch submits", () => before));
    clearInterval(this.heartbeats);
    // Until none is left: a beat still running may start a recovery while the first ones settle.
    await phase("side tasks", async () => {
      while (this.side.size > 0) await Promise.allSettled([...this.side]);
    });
    if (this.started) await phase("retire", () => this.deps.store.retire(this.deps.owner, this.deps.clock.now(), !finished));
  }

  /** Requests in flight and jobs held, for tests and metrics. */
  load(): { inFlight: number; buffered: number; lanes: number; expansions: number } {
    let buffered = 0;
    for (const l of this.lanes.values()) buffered += l.load.buffered;
    return { inFlight: this.permits.inUse, buffered, lanes: this.lanes.size, expansions: this.expansions.size };
  }

  private lane(tenantId: string): Lane {
    let lane = this.lanes.get(tenantId);
    if (!lane) {
      const { store, limiter, policies, clock, logger, owner, config } = this.deps;
      lane = new Lane(tenantId, {
        owner,
        store,
        limiter,
        policies,
        permits: this.permits,
        executor: this.executor,
        recent: this.recent,
        clock,
        logger: logger.child({ tenantId }),
        claimBatch: config.claimBatch,
        pollMs: config.pollMs,
        markInflight: (key, waitMs) =>
          this.writes.add({ mark: key }, waitMs).catch((e: unknown) => {
            logger.error({ err: (e as Error).message }, "could not mark a send in flight; it is not sent now");
            this.record({ ...key, kind: "release" });
            return false;
          }),
        record: (r) => this.record(r),
        isPaused: (t) => this.paused.has(t) || this.fenced(),
        credentialWait: (now) => this.credentials.waitMs(now),
        credentialEnter: (now) => this.credentials.enter(now),
        credentialsPaused: () => this.credentials.paused,
        credentialLost: (at) => this.credentials.lost(at),
        warm: () => this.warmup.enter(),
        isWarm: () => this.warmup.isOpen,
        answered: () => this.warmup.open(),
        skipped: () => this.warmup.skipped(),
        signal: this.abort.signal,
        heldForReply: this.deps.heldForReply,
      });
      this.lanes.set(tenantId, lane);
      lane.start();
    }
    return lane;
  }

  private record(result: JobResult): void {
    this.stats.requests += result.kind === "release" ? 0 : 1;
    if (result.kind === "sent") this.stats.sent++;
    else if (result.kind === "retry") {
      this.stats.retried++;
      if (result.error.code.startsWith("429")) this.stats.throttled++;
    } else if (result.kind === "final" && result.status === "unknown") this.stats.unknown++;
    // A row canceled as a duplicate of another (the same person) is no failure.
    else if ((result.kind === "final" && result.status !== "canceled") || result.kind === "editFailed" || result.kind === "deleteFailed")
      this.stats.failed++;
    this.persist(result, 1);
  }

  /**
   * Write a result, and keep trying while the database refuses (a failover lasts longer than the
   * write's own retries): dropped, its row would stay in flight until the next start reported it
   * `unknown`. Memory stays bounded: while writes fail, marks fail too, so nothing new is sent.
   */
  private persist(result: JobResult, attempt: number): void {
    this.track(
      this.writes.add({ result }, this.deps.config.resultDelayMs).catch((e: unknown) => {
        const err = (e as Error).message;
        if (this.abort.signal.aborted) {
          this.deps.logger.error({ err }, "a result could not be written before stopping; its row is recovered at the next start");
          return;
        }
        const delayMs = Math.min(30_000, 1_000 * attempt);
        this.deps.logger.error({ err, attempt, delayMs }, "results could not be written; trying again");
        setTimeout(() => this.persist(result, attempt + 1), delayMs).unref();
      }),
    );
  }

  /** One batched write; answers each mark with whether it took, each result with true. */
  private async write(items: Write[]): Promise<boolean[]> {
    const { store, owner, clock } = this.deps;
    const marks: LeasedKey[] = [];
    const results: JobResult[] = [];
    for (const w of items) {
      if ("mark" in w) marks.push(w.mark);
      else results.push(w.result);
    }
    // A failed attempt may have committed (its answer lost, as when a connection drops after
    // COMMIT): marked again, its rows would be found in flight already, answered "not marked",
    // never sent and left in flight for good. So only the first attempt marks; after a failure the
    // marks are answered no and released (a row still claimed, or marked by the lost commit, goes
    // back to the pool unsent), and the results alone are written again.
    let attempt = 0;
    const out = await this.withRetries(() => store.writeBatch(owner, { marks: attempt++ === 0 ? marks : [], results }, clock.now()));
    if (attempt > 1) for (const k of marks) this.record({ ...k, kind: "release" });
    this.stats.resultsWritten += results.length;
    this.stats.writeBatches++;
    for (const [id, v] of out.versions) this.messages.seen(id, v);
    this.finished(out.finished);
    const marked = new Set(out.marked.map(leasedKeyString));
    return items.map((w) => !("mark" in w) || marked.has(leasedKeyString(w.mark)));
  }

  private finished(ids: readonly string[]): void {
    for (const id of ids) {
      this.deps.logger.info({ notificationId: id }, "notification finished");
      this.messages.forget(id);
      for (const lane of this.lanes.values()) lane.forget(id);
    }
    if (ids.length > 0) this.deps.onFinished?.(ids);
  }

  private async finish(ids: readonly string[]): Promise<void> {
    const { store, clock } = this.deps;
    this.finished(await store.finishIfDone(ids, clock.now()));
  }

  /** Look for work: notifications with something to do (new ones from other processes, scheduled ones now due), paused tenants. */
  private poll(): Promise<void> {
    if (this.polling) this.pollAgain = true;
    if (this.polling || this.abort.signal.aborted) return this.polling ?? Promise.resolve();
    this.polling = (async () => {
      const { store, clock } = this.deps;
      try {
        const seen = this.resumeCount;
        const read = await store.tenantPauses();
        // A tenant resumed while the read ran may be in it: it stays resumed, and its rows are not expired.
        const pauses = read.filter((p) => (this.resumes.get(p.tenantId) ?? 0) <= seen);
        const paused = new Set(pauses.map((p) => p.tenantId));
        for (const t of [...this.paused]) if (!paused.has(t)) this.paused.delete(t);
        for (const t of paused) this.paused.add(t);
        for (const [t, at] of this.resumes) if (at <= seen) this.resumes.delete(t);
        await this.expirePaused(pauses);
        const active = await store.activeWork(clock.now());
        for (const n of active) {
          if (!n.expansionDone && (n.expansionOwner === undefined || n.expansionOwner === this.deps.owner)) this.expand(n.id);
          for (const t of n.tenants) this.lane(t).announce(n.id, clock.now());
          this.messages.seen(n.id, n.messageVersion);
        }
        await this.finish(active.filter((n) => n.expansionDone).map((n) => n.id));
      } catch (e) {
        this.deps.logger.warn({ err: (e as Error).message }, "looking for delivery work failed; trying again at the next poll");
      } finally {
        this.polling = undefined;
      }
      // A kick during this poll may have raced its reads: look once more.
      if (this.pollAgain) {
        this.pollAgain = false;
        await this.poll();
      }
    })();
    return this.polling;
  }

  /**
   * Rows of a disabled tenant do not wait for ever: once the tenant has been paused for
   * HERALD_TENANT_DISABLED_TIMEOUT, rows of notifications at least that old end `failed` with
   * Teams' code, and the notifications they held back complete.
   */
  private async expirePaused(pauses: readonly TenantPause[]): Promise<void> {
    const { store, clock, config, logger } = this.deps;
    const timeout = config.tenantDisabledTimeoutMs;
    if (timeout <= 0) return;
    const now = clock.now();
    const before = now - timeout;
    for (const p of pauses) {
      if (Date.parse(p.since) > before) continue;
      const error = {
        code: `403/${p.code}`,
        message: `The tenant's admin disabled the bot (403 ${p.code}) and sending was not resumed within ${Math.round(timeout / 60_000)} min (HERALD_TENANT_DISABLED_TIMEOUT). After the admin allows the bot again: POST /v1/tenants/${p.tenantId}/resume, then POST /v1/notifications/{id}/retry.`,
      };
      const r = await store.expireTenantRows(p.tenantId, error, before, now);
      if (r.failed > 0 || r.finished.length > 0)
        logger.warn(
          { tenantId: p.tenantId, code: p.code, since: p.since, failed: r.failed, finished: r.finished.length },
          "the tenant stayed disabled past HERALD_TENANT_DISABLED_TIMEOUT: its waiting rows failed",
        );
      this.finished(r.finished);
    }
  }

  private async recover(): Promise<void> {
    const { store, clock, owner, config, logger } = this.deps;
    const now = clock.now();
    // Shared: each statement that judges others also checks that this process's own heartbeat is
    // recent (a statement delayed past an outage takes nothing); see Liveness.beatWithinMs.
    const selfBeatSince = store.shared ? now - this.liveness.beatWithinMs : undefined;
    const r = await store.recover(owner, now - config.staleMs, config.inFlightPolicy, now, !store.shared, selfBeatSince);
    if (r.released + r.unknown + r.requeued > 0)
      logger.warn({ ...r, policy: config.inFlightPolicy }, "took over the work of a stopped process");
  }

  /** A write the engine cannot lose: retried a few times (a busy or restarting database), then thrown. */
  private async withRetries<T>(fn: () => Promise<T>): Promise<T> {
    let delay = 50;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt >= 5) throw e;
        this.deps.logger.warn({ err: (e as Error).message, attempt }, "a delivery write failed; retrying");
        await new Promise((r) => setTimeout(r, delay));
        delay *= 4;
      }
    }
  }

  private track(p: Promise<unknown>): void {
    this.side.add(p);
    void p.finally(() => this.side.delete(p));
  }
}
