import { type Clock, systemClock } from "../clock.js";
import type { BatchConnector } from "../connector/batch.js";
import type { ConnectorClient } from "../connector/client.js";
import { type Logger, silentLogger } from "../log.js";
import { footerFor } from "../preferences/footer.js";
import type { Store } from "../store/ports.js";
import { withinOr } from "../within.js";
import type { DirectoryGraph } from "./audience/directory-graph.js";
import { audienceOutsideLimit, isAudienceLimited } from "./audience/reach.js";
import { resolveAudience } from "./audience/resolve.js";
import { tenantSpellingProblem } from "./audience/tenant-spelling.js";
import type { BatchSettings } from "./batch/runner.js";
import { type BatchRecall, createBatchPath } from "./batch/wire.js";
import { type DeliveryConfig, resolveDeliveryConfig } from "./config.js";
import { CredentialGate, type CredentialState } from "./dispatch/credentials.js";
import { Dispatcher, type DispatchStats } from "./dispatch/dispatcher.js";
import { Liveness } from "./dispatch/liveness.js";
import type { SurveyHook } from "./dispatch/survey-hook.js";
import { DeliveryError } from "./errors.js";
import { notificationId, requestHash, workerId } from "./ids.js";
import type { Installer } from "./install/installer.js";
import type { TeamReach } from "./install/team-reach.js";
import type { RateLimiter } from "./limits/index.js";
import { literal } from "./message/literal.js";
import { prepareMessage } from "./message/prepare.js";
import { answerableEditError } from "./message/responses.js";
import type { Message } from "./message/schema.js";
import {
  type BlockedEntry,
  type Delivery,
  type DeliveryStatus,
  type NewDelivery,
  type Notification,
  type NotificationStatus,
  type Page,
  SYSTEM_CREATOR,
} from "./model.js";
import { policiesFor } from "./policies.js";
import { type NotificationRequest, scheduleOf, toAudience } from "./request.js";
import type { LocalTimeSchedule } from "./schedule/local-time.js";
import { earliest, placeRows, type TenantTimeZone } from "./schedule/place.js";
import { cronOf, localTimeOf } from "./schedule/schema.js";
import type { TenantState } from "./store/port.js";
import { limiterOnBaseClock, StoreClock } from "./store-clock.js";

export interface DeliveryEngineDeps {
  /** The store (its `deliveries`, `recipients`, `conversations`). */
  store: Pick<Store, "deliveries" | "recipients" | "conversations"> & Partial<Pick<Store, "batches">>;
  connector: ConnectorClient;
  /** In-process or Redis buckets (src/delivery/limits). */
  limiter: RateLimiter;
  /** Default: the system clock. */
  clock?: Clock | undefined;
  /**
   * Whose time the engine writes and compares in the store: `database` (default) moves `clock`
   * onto PostgreSQL's clock (StoreClock), so processes on different machines agree; `clock` keeps
   * `clock` as it is, for one-process simulations whose injected clock jumps hours or days ahead
   * (on PostgreSQL, re-measuring the offset would pull such a clock back to the server's time).
   */
  storeTime?: "database" | "clock" | undefined;
  /** Default: silent. */
  logger?: Logger | undefined;
  /** See DeliveryConfig; unset fields take their defaults. */
  config?: Partial<DeliveryConfig> | undefined;
  /** Jitter source of retries. Default Math.random. */
  random?: (() => number) | undefined;
  /** This process's worker id. Default: host-pid-random. */
  workerId?: string | undefined;
  /** A tenant's default time zone (tenant settings), for local-time schedules of recipients whose own zone is unknown. Default: none. */
  tenantTimeZone?: TenantTimeZone | undefined;
  /** Proactive installation through Graph for users Herald has no chat with (HERALD_AUTO_INSTALL). */
  installer?: Installer | undefined;
  /** Microsoft Graph for UPN/email users, group audiences and `includeUninstalled`. */
  graph?: DirectoryGraph | undefined;
  /** Installs the app in teams of an audience named by Entra group id where the bot is missing (HERALD_AUTO_INSTALL). */
  teamReach?: TeamReach | undefined;
  /** Starts or queues a survey when a `message.survey` row is sent (src/surveys); without it such rows fail. */
  surveys?: SurveyHook | undefined;
  /** Teams' batch API (the HTTP Connector client); without it `delivery.mode: "batch"` is refused. */
  batch?: BatchConnector | undefined;
  /** Batch sizes and polling (src/delivery/batch/runner.ts). */
  batchSettings?: Partial<BatchSettings> | undefined;
  /** Notifications this process saw finish (nothing pending): the install step waits on welcomes with it. */
  onFinished?: ((ids: readonly string[]) => void) | undefined;
  /** A message waits for a reply (a welcome) on its way in the same conversation; default: never. */
  heldForReply?: ((conversationId: string, notificationId: string) => boolean) | undefined;
}

/** Where a notification comes from when a recurring series starts it (src/delivery/schedule/series.ts). */
export interface SeriesOrigin {
  seriesId: string;
  /** The run's time, ms since the epoch. */
  runAt: number;
}

export { SYSTEM_CREATOR };

/** One message of the bot's own in one conversation (DeliveryEngine.reply). */
export interface ReplyRequest {
  /** Idempotency key: the same key never makes a second message (e.g. `answer:<inbound activity id>`). */
  key: string;
  tenantId: string;
  conversationId: string;
  serviceUrl: string;
  /** Sent as written: `${...}` in it is not templated (a reply may quote what the user typed). */
  message: Message;
}

/** Who calls: an API key and, when it is tenant-scoped, its tenants. */
export interface Caller {
  keyId: string;
  /** undefined = every tenant. */
  tenants?: readonly string[] | undefined;
  /** Teams it may reach (issue 12, audience/reach.ts); undefined with `groups` undefined = no such limit. */
  teams?: readonly string[] | undefined;
  /** Entra groups it may reach. */
  groups?: readonly string[] | undefined;
}

export interface PageRequest {
  cursor?: string | undefined;
  limit: number;
}

/** The delivery engine of one process. */
export interface DeliveryEngine {
  /** Recover the work of stopped processes, then send. */
  start(): Promise<void>;
  /** Stop taking work, finish requests in flight and write their results. */
  stop(): Promise<void>;
  /**
   * Accept a notification: validate the message, resolve the audience, store the notification and
   * (explicit lists) every recipient's row in one transaction, then return. Throws MessageError
   * (bad message or template) or DeliveryError (idempotency conflict, tenant not allowed).
   * `created` is false when the idempotency key returned an existing notification.
   */
  submit(request: NotificationRequest, caller: Caller, origin?: SeriesOrigin): Promise<{ notification: Notification; created: boolean }>;
  /**
   * Why `audience` reaches outside the caller's team/group guardrails (a message naming the
   * entry), or undefined; `submit` refuses the same. For paths that store an audience for later
   * (a recurring series).
   */
  audienceOutside(audience: NotificationRequest["audience"], caller: Caller): Promise<string | undefined>;
  /** The 400 message when an `{all, tenantId}` audience names its tenant in another letter case than the stored chats (tenantSpellingProblem). */
  tenantSpelling(audience: NotificationRequest["audience"]): Promise<string | undefined>;
  /**
   * The bot's own message to one conversation (a welcome, an answer to a command, a survey's next
   * question), stored as a notification of SYSTEM_CREATOR with one row before this returns, then
   * sent like any delivery: same limits, retries, crash recovery and metrics. Idempotent on `key`
   * (`created` false: that key was already used, nothing new is sent). Throws MessageError when
   * the message cannot be sent (too large) and DeliveryError HERALD_E_ENGINE_STOPPED at shutdown.
   */
  reply(request: ReplyRequest): Promise<{ notification: Notification; created: boolean }>;
  /** Undefined when unknown or not visible to `caller`. */
  get(id: string, caller?: Caller): Promise<Notification | undefined>;
  list(filter: { status?: NotificationStatus | undefined }, page: PageRequest, caller?: Caller): Promise<Page<Notification>>;
  /** Per-recipient outcomes; throws DeliveryError HERALD_E_NOT_FOUND. */
  deliveries(id: string, filter: { status?: DeliveryStatus | undefined }, page: PageRequest, caller?: Caller): Promise<Page<Delivery>>;
  /** Update every sent copy in place (within the same limits); new sends use the new message. */
  edit(id: string, message: Message, caller?: Caller): Promise<Notification>;
  /**
   * Send again the recipients that ended `failed` (and `unknown` with `includeUnknown`: they may
   * have received it). Throws DeliveryError HERALD_E_NOT_FOUND or HERALD_E_RECALLED.
   */
  retry(id: string, options: { includeUnknown: boolean }, caller?: Caller): Promise<{ notification: Notification; retried: number }>;
  /**
   * Cancel what is not sent and delete every sent copy. Recalling twice is harmless. A batch
   * notification's answer carries `batch`: its running operations are canceled at Teams, and the
   * copies Teams' batch API delivered (no activity id) cannot be deleted.
   */
  recall(id: string, caller?: Caller): Promise<Notification & { batch?: BatchRecall }>;
  /** Conversations that blocked or uninstalled the bot. */
  blockedReport(filter: { tenantId?: string | undefined }, page: PageRequest, caller?: Caller): Promise<Page<BlockedEntry>>;
  /** A user of this tenant interacted with the bot: lift a BotDisabledByAdmin pause. */
  onTenantInteraction(tenantId: string): void;
  /** Tenants Herald knows and whether sending to them is paused (`GET /v1/tenants`); a tenant-scoped caller sees its tenants. */
  tenants(filter: { state?: "active" | "disabled" | undefined }, caller?: Caller): Promise<TenantState[]>;
  /**
   * Lift a BotDisabledByAdmin pause (`POST /v1/tenants/{id}/resume`); resuming an active tenant
   * changes nothing. Throws DeliveryError HERALD_E_FORBIDDEN (not the caller's tenant) or
   * HERALD_E_NOT_FOUND (a tenant Herald does not know).
   */
  resumeTenant(tenantId: string, caller?: Caller): Promise<{ tenant: TenantState; resumed: boolean }>;
  /** Whether sending is paused because the bot's credentials fail (`/readyz`, metrics). */
  credentials(): CredentialState;
  /** Whether this process holds every request because its heartbeats do not reach the database (Liveness.fenced; metrics). */
  fenced(): boolean;
  /** What this process did, and holds now. */
  stats(): DispatchStats & { inFlight: number; buffered: number; lanes: number; expansions: number };
  readonly workerId: string;
}

/** How long stop() waits for the batch path's submits already sent (their answers), at most. */
const batchStopMs = 10_000;

/**
 * The delivery engine: `POST /v1/notifications` to every recipient exactly once (or reported
 * `unknown`), within Teams' limits, surviving crashes; see docs/design/delivery.md.
 */
export function createDeliveryEngine(deps: DeliveryEngineDeps): DeliveryEngine {
  const logger = deps.logger ?? silentLogger;
  const config = resolveDeliveryConfig(deps.config);
  const owner = deps.workerId ?? workerId();
  const store = deps.store.deliveries;
  // Every time the engine writes or compares is on the store's clock (PostgreSQL's, when processes share it).
  const storeNow = deps.storeTime === "clock" ? async () => undefined : () => store.databaseNow();
  const clock = new StoreClock(deps.clock ?? systemClock, storeNow, 2 * config.heartbeatMs);
  const limiter = limiterOnBaseClock(deps.limiter, clock);
  const policies = policiesFor(config.tenantRps, config.timeScale, config.tenantTick);
  // One gate for the process: a batch submit that finds the credentials failing pauses single sends too, and the reverse.
  const credentials = new CredentialGate(clock, logger.child({ component: "delivery" }), config.credentialBackoff);
  // One judge of other processes' heartbeats for both paths (the dispatcher's heartbeats feed it).
  const liveness = new Liveness(config.staleMs, config.heartbeatMs);
  const batch = createBatchPath({
    owner,
    credentials,
    liveness,
    // As the dispatcher's lanes, but from the batch path's start on (before the dispatcher's, whose
    // first heartbeat then lifts it): no batch work is taken before this process has a heartbeat.
    fenced: () => store.shared && liveness.fenced(),
    store: deps.store.batches,
    connector: deps.batch,
    deliveries: store,
    workerId: owner,
    limiter,
    policies,
    clock,
    logger,
    config,
    settings: deps.batchSettings,
    activityOf: async (id) => {
      const fixed = (await dispatcher.messages.get(id))?.prepared.fixed;
      return fixed && { ...fixed, ...(config.appId ? { from: { id: `28:${config.appId}` } } : {}) };
    },
    kickDispatcher: () => dispatcher.kick(),
    conversations: deps.store.conversations,
    // The dispatcher's pauses: a batch submit's 403 BotDisabledByAdmin pauses the tenant as a single send's does.
    tenants: {
      isPaused: (tenantId) => dispatcher.isPaused(tenantId),
      paused: () => dispatcher.pausedTenants(),
      pause: async (tenantId, code) => {
        dispatcher.pause(tenantId, code);
        // Stored before the batch path gives the rows back (the dispatcher's own write is in the background; both insert once).
        await store.pauseTenant(tenantId, code, clock.now());
      },
    },
  });
  const dispatcher = new Dispatcher({
    owner,
    credentials,
    liveness,
    store: batch.dispatchStore,
    directory: deps.store.recipients,
    conversations: deps.store.conversations,
    connector: deps.connector,
    limiter,
    policies,
    clock,
    syncClock: () => clock.sync(),
    config,
    logger: logger.child({ component: "delivery" }),
    random: deps.random ?? Math.random,
    placeRows: (n, rows) => {
      const local = localTimeOf(n.schedule as NotificationRequest["schedule"]);
      return local ? placeRows(rows, local, Date.parse(n.createdAt), deps.tenantTimeZone) : Promise.resolve(rows);
    },
    installer: deps.installer,
    graph: deps.graph,
    teams: deps.teamReach,
    surveys: deps.surveys,
    onFinished: deps.onFinished,
    heldForReply: deps.heldForReply,
  });
  let stopping = false;
  /** start() was called: the engine runs in this process (an API-only host never calls it). */
  let running = false;

  const visible = (n: Notification, caller: Caller | undefined): boolean =>
    !caller?.tenants || n.createdBy === caller.keyId || (n.tenantId !== undefined && caller.tenants.includes(n.tenantId));

  const mustGet = async (id: string, caller: Caller | undefined): Promise<Notification> => {
    const n = await store.getNotification(id);
    if (!n || !visible(n, caller))
      throw new DeliveryError("HERALD_E_NOT_FOUND", `No notification ${id}; check the id (GET /v1/notifications lists them).`);
    return n;
  };

  /**
   * For a change (edit, retry, recall): a caller limited to teams/groups changes only its own
   * notifications or ones whose audience lies within its limit (else an org-wide broadcast could
   * be rewritten or recalled by a key that may only reach one team).
   */
  const mustGetToChange = async (id: string, caller: Caller | undefined): Promise<Notification> => {
    const n = await mustGet(id, caller);
    if (caller && n.createdBy !== caller.keyId && isAudienceLimited(caller)) {
      const outside = await audienceOutsideLimit(n.audience, caller, deps.store.recipients, caller.tenants);
      if (outside !== undefined)
        throw new DeliveryError("HERALD_E_FORBIDDEN", `Notification ${id} reaches outside what this caller may reach: ${outside}`);
    }
    return n;
  };

  const sameRequest = (n: Notification, hash: string): { notification: Notification; created: boolean } => {
    if (n.requestHash !== hash) {
      throw new DeliveryError(
        "HERALD_E_IDEMPOTENCY_CONFLICT",
        `idempotencyKey "${n.idempotencyKey}" was used for notification ${n.id} with a different request; use a new key for a new notification.`,
      );
    }
    return { notification: n, created: false };
  };

  return {
    workerId: owner,

    async start() {
      running = true;
      // Before the dispatcher: batch notifications must be known before it claims anything.
      await batch.start((await store.activeWork(clock.now())).map((n) => n.id));
      await dispatcher.start();
    },

    async stop() {
      stopping = true;
      // Both paths stop taking work at once. The batch path waits for submits already sent (their
      // operation ids must reach the rows), at most batchStopMs: a shutdown bound (the CLI's 15 s)
      // must leave time to retire. The dispatcher retires after it, beating until then.
      const batchStopped = withinOr(
        batch.stop().then(
          () => true,
          () => true,
        ),
        batchStopMs,
        false,
      ).then((done) => {
        if (!done)
          logger.warn(
            { waitedMs: batchStopMs },
            "stopping with batch submits still unanswered: the worker stays registered, and the others settle them by HERALD_IN_FLIGHT_POLICY once its heartbeat is stale",
          );
        return done;
      });
      await dispatcher.stop(batchStopped);
    },

    audienceOutside(audience, caller) {
      return audienceOutsideLimit(toAudience(audience), caller, deps.store.recipients, caller.tenants);
    },

    tenantSpelling(audience) {
      return tenantSpellingProblem(toAudience(audience), deps.store.recipients);
    },

    async submit(request, caller, origin) {
      if (stopping) throw new DeliveryError("HERALD_E_ENGINE_STOPPED", "Herald is shutting down; send the request again in a moment.");
      if (cronOf(request.schedule))
        throw new DeliveryError(
          "HERALD_E_SCHEDULE_IS_SERIES",
          "A cron schedule makes a recurring series, not one notification: create it with POST /v1/series (or herald series).",
        );
      const local: LocalTimeSchedule | undefined = localTimeOf(request.schedule);
      // Throws MessageError naming the field (templates, size) before anything is stored.
      prepareMessage(request.message, { data: request.data });
      const audience = toAudience(request.audience);
      const scheduledAt = scheduleOf(request.schedule);
      const hash = requestHash({
        audience,
        message: request.message,
        data: request.data ?? null,
        scheduledAt: scheduledAt ?? null,
        category: request.category ?? null,
        // Only when present, so the hashes of requests without one stay what they were.
        ...(local ? { schedule: local } : {}),
        // Only when given, so requests without them hash as before (idempotent replays across an upgrade).
        ...(request.priority === undefined ? {} : { priority: request.priority }),
        ...(request.footer === undefined ? {} : { footer: request.footer }),
        ...(request.delivery === undefined ? {} : { delivery: request.delivery }),
      });
      // An engine that does not run in this process (an API-only host, `engine: false`) leaves the
      // sending to the workers, which cannot tell a batch notification by its rows: one by one
      // (docs/batch.md). Its batch path, never started, would send without a heartbeat of its own.
      const requested = batch.pathFor(request);
      const path = running ? requested : "individual";
      if (config.categories && request.category !== undefined && !config.categories.includes(request.category))
        throw new DeliveryError(
          "HERALD_E_UNKNOWN_CATEGORY",
          `category: "${request.category}" is not one of HERALD_CATEGORIES (${config.categories.join(", ")}); use one of them or add it to HERALD_CATEGORIES.`,
        );
      if (caller.tenants) {
        // Checked before any lookup: only a tenant the caller named itself is ever refused by name.
        const named = "tenantId" in audience ? audience.tenantId : undefined;
        if (named !== undefined && !caller.tenants.includes(named)) {
          throw new DeliveryError("HERALD_E_FORBIDDEN", `This API key may not send to tenant ${named}.`);
        }
        if (named === undefined && ("all" in audience || "users" in audience)) {
          throw new DeliveryError(
            "HERALD_E_TENANT_REQUIRED",
            `This API key is limited to some tenants: name the tenant of the ${"all" in audience ? "all" : "users"} audience (audience.tenantId).`,
          );
        }
      }
      // Team and group guardrails: refused naming the first audience entry outside them.
      const outside = await audienceOutsideLimit(audience, caller, deps.store.recipients, caller.tenants);
      if (outside !== undefined) throw new DeliveryError("HERALD_E_FORBIDDEN", outside);
      // A repeated request is answered before the audience is resolved: resolving claims blocked
      // conversations' retries (blocked-retry.ts), which a replay must not use up.
      if (request.idempotencyKey !== undefined) {
        const earlier = await store.findByIdempotencyKey(caller.keyId, request.idempotencyKey);
        if (earlier) return sameRequest(earlier, hash);
      }
      const misspelled = await tenantSpellingProblem(audience, deps.store.recipients);
      if (misspelled !== undefined) throw new DeliveryError("HERALD_E_TENANT_SPELLING", misspelled);
      const resolution = await resolveAudience(
        audience,
        deps.store.recipients,
        request.category,
        config.defaultServiceUrl,
        { intervalMs: config.blockedRetryMs, now: clock.now() },
        caller.tenants,
        deps.graph,
        deps.teamReach !== undefined,
      );
      if (caller.tenants) {
        // Defence in depth: with the lookups limited to the caller's tenants this cannot happen.
        const denied = resolution.tenants === undefined ? ["(any)"] : [...resolution.tenants].filter((t) => !caller.tenants?.includes(t));
        if (denied.length > 0) throw new DeliveryError("HERALD_E_FORBIDDEN", "This API key may not send to this audience.");
      }
      await clock.fresh();
      const now = clock.now();
      const tenants = resolution.tenants ? [...resolution.tenants] : [];
      // Local time: each row waits for its recipient's moment; the notification stays `scheduled`
      // until the first of them (a streamed audience is placed page by page as it expands).
      const rows = local ? await placeRows(resolution.rows, local, now, deps.tenantTimeZone) : resolution.rows;
      const firstLocal = local && !resolution.streaming ? earliest(rows) : undefined;
      const id = notificationId(now);
      // Marked before its rows exist, so the dispatcher never claims one of them.
      if (path === "batch") batch.mark(id);
      const { notification, created } = await store.createNotification(
        {
          id,
          createdBy: caller.keyId,
          idempotencyKey: request.idempotencyKey,
          requestHash: hash,
          tenantId: tenants.length === 1 ? tenants[0] : undefined,
          audience,
          message: request.message,
          data: request.data,
          category: request.category,
          priority: request.priority === "urgent" ? "urgent" : undefined,
          footer: footerFor(config.unsubscribeFooter, { audience, category: request.category, footer: request.footer }),
          createdAt: now,
          scheduledAt: firstLocal !== undefined && firstLocal > now ? firstLocal : scheduledAt,
          schedule: local,
          seriesId: origin?.seriesId,
          seriesRunAt: origin?.runAt,
          expansionDone: !resolution.streaming,
          expansionCursor: resolution.streaming ? resolution.cursor : undefined,
        },
        rows,
      );
      if (!created) {
        batch.unmark(id);
        return sameRequest(notification, hash);
      }
      logger.info(
        { notificationId: notification.id, total: notification.total, streaming: resolution.streaming, createdBy: caller.keyId, path },
        "notification accepted",
      );
      if (notification.status !== "scheduled") {
        dispatcher.messages.put(notification);
        if (resolution.streaming) dispatcher.expand(notification.id);
        const sending = new Set(rows.filter((r) => r.status === "pending").map((r) => r.tenantId));
        dispatcher.announce(notification.id, [...sending]);
        if (path === "batch") batch.kick(notification.id);
        if (!resolution.streaming && notification.counts.pending === 0) await store.finishIfDone([notification.id], clock.now());
      }
      return { notification: (await store.getNotification(notification.id)) ?? notification, created: true };
    },

    async reply(r) {
      if (stopping) throw new DeliveryError("HERALD_E_ENGINE_STOPPED", "Herald is shutting down; the reply is not stored.");
      const message = literal(r.message);
      prepareMessage(message);
      const earlier = await store.findByIdempotencyKey(SYSTEM_CREATOR, r.key);
      if (earlier) return { notification: earlier, created: false };
      const audience = { conversations: [r.conversationId] };
      const hash = requestHash({ audience, message, data: null, scheduledAt: null, category: null });
      const row: NewDelivery = {
        recipientKey: `conv:${r.conversationId}`,
        kind: "conversation",
        tenantId: r.tenantId,
        conversationId: r.conversationId,
        serviceUrl: r.serviceUrl,
        status: "pending",
      };
      await clock.fresh();
      const now = clock.now();
      const input = {
        id: notificationId(now),
        createdBy: SYSTEM_CREATOR,
        idempotencyKey: r.key,
        requestHash: hash,
        tenantId: r.tenantId || undefined,
        audience,
        message,
        // An answer to what the person just did: never held by quiet hours or the frequency cap.
        priority: "urgent" as const,
        createdAt: now,
        expansionDone: true,
      };
      let result: { notification: Notification; created: boolean };
      try {
        result = await store.createNotification(input, [row]);
      } catch (e) {
        // Two processes given the same redelivered activity: the unique key let one in.
        const winner = await store.findByIdempotencyKey(SYSTEM_CREATOR, r.key);
        if (!winner) throw e;
        return { notification: winner, created: false };
      }
      if (result.created) {
        dispatcher.messages.put(result.notification);
        dispatcher.announce(result.notification.id, [r.tenantId]);
      }
      return result;
    },

    async get(id, caller) {
      const n = await store.getNotification(id);
      return n && visible(n, caller) ? n : undefined;
    },

    list(filter, page, caller) {
      return store.listNotifications(
        { status: filter.status, visibleTo: caller?.tenants ? { keyId: caller.keyId, tenants: caller.tenants } : undefined },
        page,
      );
    },

    async deliveries(id, filter, page, caller) {
      await mustGet(id, caller);
      return store.listDeliveries(id, filter, page);
    },

    async edit(id, message, caller) {
      const before = await mustGetToChange(id, caller);
      await batch.refuseEdit(id);
      if (message.survey !== undefined || (before.message as Message | undefined)?.survey !== undefined)
        throw new DeliveryError(
          "HERALD_E_SURVEY_NOT_EDITABLE",
          `Notification ${id} is or would become a survey; a survey cannot be edited. Recall it and send a new one.`,
        );
      prepareMessage(message, { data: before.data });
      const answerable = answerableEditError(before.message, message);
      if (answerable) throw answerable;
      await clock.fresh();
      const outcome = await store.requestEdit(id, message, clock.now());
      if (!outcome.ok) {
        if (outcome.reason === "canceled")
          throw new DeliveryError(
            "HERALD_E_RECALLED",
            `Notification ${id} was recalled; it cannot be edited. Send a new notification instead.`,
          );
        throw new DeliveryError("HERALD_E_NOT_FOUND", `No notification ${id}.`);
      }
      dispatcher.messages.put(outcome.notification);
      dispatcher.kick();
      logger.info(
        { notificationId: id, version: outcome.notification.messageVersion, copies: outcome.notification.edit.pending },
        "notification edited",
      );
      return outcome.notification;
    },

    async retry(id, options, caller) {
      await mustGetToChange(id, caller);
      await clock.fresh();
      const outcome = await store.requestRetry(id, options.includeUnknown ? ["failed", "unknown"] : ["failed"], clock.now());
      if (!outcome.ok) {
        if (outcome.reason === "canceled")
          throw new DeliveryError(
            "HERALD_E_RECALLED",
            `Notification ${id} was recalled; its deliveries cannot be retried. Send a new notification.`,
          );
        throw new DeliveryError("HERALD_E_NOT_FOUND", `No notification ${id}.`);
      }
      if (outcome.retried > 0) {
        dispatcher.messages.put(outcome.notification);
        dispatcher.announce(id, outcome.tenants);
        dispatcher.kick();
      }
      logger.info(
        { notificationId: id, retried: outcome.retried, includeUnknown: options.includeUnknown, by: caller?.keyId },
        "deliveries retried",
      );
      return { notification: outcome.notification, retried: outcome.retried };
    },

    async recall(id, caller) {
      await mustGetToChange(id, caller);
      await clock.fresh();
      const n = await store.requestRecall(id, clock.now());
      if (!n) throw new DeliveryError("HERALD_E_NOT_FOUND", `No notification ${id}.`);
      // A batch notification: its running operations are canceled at Teams; its sent copies have no activity id and stay.
      const b = await batch.recall(id);
      dispatcher.kick();
      logger.info(
        { notificationId: id, deletes: n.recall.pending, canceled: n.counts.canceled, notRecallable: b?.notRecallable },
        "notification recalled",
      );
      return b ? { ...n, batch: b } : n;
    },

    blockedReport(filter, page, caller) {
      let tenantIds: readonly string[] | undefined = filter.tenantId === undefined ? undefined : [filter.tenantId];
      if (caller?.tenants) {
        if (filter.tenantId !== undefined && !caller.tenants.includes(filter.tenantId)) {
          throw new DeliveryError("HERALD_E_FORBIDDEN", `This API key may not read tenant ${filter.tenantId}.`);
        }
        tenantIds ??= caller.tenants;
      }
      return store.blockedReport({ tenantIds }, page);
    },

    onTenantInteraction(tenantId) {
      // The paused set is refreshed from the store at every poll, so a pause by another process is seen too.
      if (!dispatcher.isPaused(tenantId)) return;
      void dispatcher
        .resume(tenantId)
        .then(() => logger.info({ tenantId }, "a user of the tenant interacted: sending to it resumes"))
        .catch((e: unknown) => logger.warn({ tenantId, err: (e as Error).message }, "could not resume a tenant"));
    },

    async tenants(filter, caller) {
      const all = await store.tenantStates({ tenantIds: caller?.tenants, disabledOnly: filter.state === "disabled" });
      return filter.state === undefined ? all : all.filter((t) => t.state === filter.state);
    },

    async resumeTenant(tenantId, caller) {
      if (caller?.tenants && !caller.tenants.includes(tenantId))
        throw new DeliveryError("HERALD_E_FORBIDDEN", `This API key may not act on tenant ${tenantId}.`);
      // Known = stored conversations or a pause; read BEFORE resuming: a paused tenant without
      // stored conversations (roster members, users by object id) is known only by its pause.
      const known = (await store.tenantStates({ tenantIds: [tenantId] }))[0] !== undefined || dispatcher.isPaused(tenantId);
      if (!known)
        throw new DeliveryError("HERALD_E_NOT_FOUND", `Herald knows no tenant ${tenantId}; GET /v1/tenants lists the tenants it knows.`);
      const resumed = await dispatcher.resume(tenantId);
      const tenant = (await store.tenantStates({ tenantIds: [tenantId] }))[0] ?? { tenantId, state: "active", conversations: 0 };
      if (resumed) logger.info({ tenantId, by: caller?.keyId }, "sending to the tenant resumed by an operator");
      dispatcher.kick();
      return { tenant, resumed };
    },

    credentials() {
      return dispatcher.credentialState();
    },

    fenced() {
      return dispatcher.fenced();
    },

    stats() {
      // Sends through the batch path count with single sends (herald_deliveries_total and the rest).
      const d = dispatcher.stats;
      const b = batch.stats;
      return {
        ...d,
        requests: d.requests + b.requests,
        throttled: d.throttled + b.throttled,
        sent: d.sent + b.sent,
        failed: d.failed + b.failed,
        unknown: d.unknown + b.unknown,
        ...dispatcher.load(),
      };
    },
  };
}
