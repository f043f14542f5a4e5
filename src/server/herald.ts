import { setMaxListeners } from "node:events";
import { adminKeyVerifier, withAfterAuth } from "../api/auth.js";
import { storedKeyVerifier, warnKeysWiderThanCreator } from "../api/keys.js";
import { perKeyRateLimit } from "../api/rate-limit.js";
import { type Clock, isoNow, systemClock } from "../clock.js";
import { clouds } from "../config/clouds.js";
import { autoInstallEnabled, type Config, graphEnabled } from "../config/config.js";
import { trustedHosts } from "../config/trusted-hosts.js";
import type { ConnectorClient } from "../connector/client.js";
import { createConnectorClient, createHttpAgent, type TokenProvider } from "../connector/index.js";
import type { BatchSettings } from "../delivery/batch/runner.js";
import { watched } from "../delivery/dispatch/watched.js";
import { createDeliveryEngine, type DeliveryConfig, type DeliveryEngine } from "../delivery/index.js";
import { Installer } from "../delivery/install/installer.js";
import { InstallationJobs } from "../delivery/install/jobs.js";
import { DirectoryNames } from "../delivery/install/names.js";
import { TeamReach } from "../delivery/install/team-reach.js";
import { WelcomeTracker } from "../delivery/install/welcomes.js";
import { InProcessRateLimiter, type RateLimiter, RedisRateLimiter } from "../delivery/limits/index.js";
import { connectRedis } from "../delivery/limits/redis-client.js";
import { RESPONSE_VERB } from "../delivery/message/responses.js";
import { policiesFor } from "../delivery/policies.js";
import { createSeriesService, type SeriesService } from "../delivery/schedule/series-service.js";
import { createGraph, type HeraldGraph } from "../graph/index.js";
import { createInboundVerifier, inboundVerifierOptions } from "../inbound/auth/index.js";
import { CardActions } from "../inbound/card-actions.js";
import { ActivityHandler } from "../inbound/handler.js";
import { loadWelcomeFile } from "../inbound/messages.js";
import { type ActivityOutcome, type BotEndpointDeps, receiveActivity } from "../inbound/route.js";
import type { Logger } from "../log.js";
import { instrumentBatchConnector, instrumentConnector } from "../observability/instrumented-connector.js";
import { Metrics } from "../observability/metrics.js";
import { preferencesCardHandler, preferencesVerb } from "../preferences/card.js";
import { PreferenceService } from "../preferences/service.js";
import { ResponseService } from "../responses/service.js";
import { openStore } from "../store/open.js";
import type { Store } from "../store/ports.js";
import { SurveyService } from "../surveys/service.js";
import { withSessionAuth } from "./dashboard.js";
import { DashboardSessions, personVerifier } from "./dashboard-sessions.js";
import { durableReplies } from "./durable-replies.js";
import { registerEngineMetrics } from "./engine-metrics.js";
import { httpSurface } from "./http-surface.js";
import { type Listener, listen } from "./listen.js";
import { OidcSignIn, oidcSettings } from "./oidc.js";
import { pacedReads } from "./paced-reads.js";

export interface HeraldOptions {
  logger: Logger;
  clock?: Clock;
  /** Use this store instead of opening HERALD_DATABASE_URL (library use, tests). */
  store?: Store;
  /** PostgreSQL schema (tests give each run its own). */
  schema?: string;
  /** Delivery engine settings beyond the configuration (time scale for emulators, batch sizes). */
  delivery?: Partial<DeliveryConfig>;
  /** Batch path sizes and polling (src/delivery/batch/runner.ts `BatchSettings`). */
  batch?: Partial<BatchSettings>;
  /**
   * Safety margin of the rate limiter against network jitter, in ms (default 30: see
   * GcraOptions.marginMs). Tests on a loaded 2-core machine against a time-scaled emulator raise it.
   */
  limiterMarginMs?: number;
  /** App installs per second per tenant through Graph (default 30, Graph's documented pace). */
  installRps?: number;
  /** Install requests of one tenant on the wire at once (default 4; see InstallerDeps). */
  installConcurrency?: number;
  /** `$top` of Graph user listings (default 999; tests use small pages). */
  graphPageSize?: number;
  /** How long an install waits for the welcome before the message goes anyway, in ms (default 10 000). */
  welcomeWaitMs?: number;
  /** Run the delivery engine in this process (default true; `false` for an API-only process). */
  engine?: boolean;
  /** How often this process looks for due series runs, in ms (default 1000; tests with a simulated clock go faster). */
  seriesPollMs?: number;
  /** At most one update of a channel poll's shared card per conversation per this many ms (default 2000). */
  cardUpdateIntervalMs?: number;
  /** Library: Connector tokens from the host bot's own credentials instead of HERALD_APP_PASSWORD/CERTIFICATE. */
  tokens?: TokenProvider;
  /** Library: send none of Herald's own welcome and command replies (the host bot speaks). Default false. */
  quiet?: boolean;
  /** Library: card action verbs no Herald feature registered go here (CardActions' fallback). */
  onCardAction?: ConstructorParameters<typeof CardActions>[0];
  /**
   * Whose time the engine writes in the store (DeliveryEngineDeps.storeTime): `clock` keeps an
   * injected clock that jumps hours ahead (tests of quiet hours); default the database's.
   */
  storeTime?: "database" | "clock";
}

/** One Herald process: bot endpoint, API and delivery engine over one store. */
export interface Herald {
  readonly config: Readonly<Config>;
  readonly store: Store;
  readonly connector: ConnectorClient;
  readonly handler: ActivityHandler;
  readonly engine: DeliveryEngine;
  /** Recurring series (absent when the store has none). */
  readonly series: SeriesService | undefined;
  readonly metrics: Metrics;
  /** Running surveys: `sweep()` ends the expired ones (also run on a timer). */
  readonly surveys: SurveyService;
  /** Poll and acknowledgement answers, reactions and read receipts (undefined when the store keeps none). */
  readonly responses: ResponseService | undefined;
  /** The bot endpoint's logic without HTTP (library, adapters): `authenticated` = the host SDK verified the token. */
  receive(activity: unknown, authorization: string | undefined, options?: { authenticated?: boolean }): Promise<ActivityOutcome>;
  /** Dashboard sessions and one-time sign-in links (`herald demo` prints one). */
  readonly dashboard: DashboardSessions;
  /** Microsoft Graph (tokens from the bot's credentials); undefined when `graphEnabled(config)` is false. */
  readonly graph: HeraldGraph | undefined;
  /** The install step of the engine (HERALD_AUTO_INSTALL); undefined when off. */
  readonly installer: Installer | undefined;
  /** The whole HTTP surface as a fetch handler (tests call it in process). */
  fetch(req: Request): Response | Promise<Response>;
  /** Listen on HERALD_HOST:HERALD_PORT. */
  listen(): Promise<Listener>;
  /** Stop taking work, finish replies in flight, close the store. */
  close(): Promise<void>;
}

/**
 * The composition root: every port gets its implementation here, chosen from the validated
 * config, and nowhere else.
 */
export async function createHerald(config: Readonly<Config>, options: HeraldOptions): Promise<Herald> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const cloud = clouds[config.cloud];
  const trusted = trustedHosts(cloud, config.trustedHosts);
  const welcome = config.welcomeFile ? loadWelcomeFile(config.welcomeFile) : undefined;
  const store = options.store ?? (await openStore(config.databaseUrl, { schema: options.schema }));
  const metrics = new Metrics();
  const http = createConnectorClient(config, {
    clock,
    logger,
    tokens: options.tokens,
    isTrusted: trusted,
    onTokenRefresh: (ok) => metrics.tokenRefreshes.inc({ result: ok ? "ok" : "failed" }),
  });
  const connector = instrumentConnector(http, metrics, clock);

  const redis = config.redisUrl
    ? await connectRedis(config.redisUrl, {
        onError: (e) => logger.warn({ err: e.message }, "the Redis connection failed; reconnecting (rate limits wait meanwhile)"),
      })
    : undefined;
  const margin = options.limiterMarginMs === undefined ? {} : { marginMs: options.limiterMarginMs };
  const limiter: RateLimiter = redis ? new RedisRateLimiter({ redis, clock, ...margin }) : new InProcessRateLimiter(margin);
  // Surveys reply through the engine, and the engine offers survey rows to them.
  const surveys = new SurveyService({
    store,
    reply: (r) => engine.reply(r),
    clock,
    timeoutMs: config.surveyTimeoutMs,
    logger: logger.child({ component: "surveys" }),
  });
  // Claim-time holds (quiet hours are per tenant in the store; the frequency cap is the process's).
  store.deliveries.configureHolds?.({ frequencyCap: config.frequencyCap });
  // Graph: with credentials and a Graph that fits the token endpoint (graphEnabled); its own pool, closed with the rest.
  const graphAgent = graphEnabled(config) ? createHttpAgent() : undefined;
  const graph = graphAgent ? createGraph(config, { dispatcher: graphAgent, clock, logger, pageSize: options.graphPageSize }) : undefined;
  const welcomes = new WelcomeTracker(clock);
  /** How long a welcome holds other messages into its chat at most, and an install step waits for it. */
  const welcomeWaitMs = options.welcomeWaitMs ?? 10_000;
  // Install steps wait for the welcome their install event asked for, whichever process took it.
  const welcomeWatch =
    options.quiet || !store.welcomes ? undefined : { holds: store.welcomes, tracker: welcomes, clock, waitMs: welcomeWaitMs };
  const names = new DirectoryNames();
  const installer =
    graph && autoInstallEnabled(config)
      ? new Installer({
          apps: graph.apps,
          conversations: store.conversations,
          limiter,
          clock,
          logger,
          // Quiet (the library's default): the host bot welcomes in its own code, unseen here, so
          // there is no welcome to wait for; waiting would hold a delivery permit on every install.
          welcomes: welcomeWatch,
          names,
          timeScale: options.delivery?.timeScale ?? 1,
          installRps: options.installRps,
          installConcurrency: options.installConcurrency,
          welcomeWaitMs,
        })
      : undefined;
  const installations =
    installer && graph && store.installations
      ? new InstallationJobs({ store: store.installations, installer, graph: graph.apps, clock, logger })
      : undefined;
  // Teams of an audience named by group id where the bot is missing: installed first (issue 15).
  const teamReach =
    installer && graph
      ? new TeamReach({
          installer,
          apps: graph.apps,
          directory: store.recipients,
          clock,
          logger: logger.child({ component: "team-reach" }),
          welcomes: welcomeWatch,
          defaultServiceUrl: cloud.defaultServiceUrl,
        })
      : undefined;
  const engine = createDeliveryEngine({
    installer,
    teamReach,
    graph: graph?.apps,
    surveys,
    store,
    connector,
    // The batch calls go through the HTTP client itself (same token, same trusted-host check), timed as single sends are;
    // on unless HERALD_BATCH=off (docs/batch.md). Only notifications asking for delivery.mode batch or auto use it.
    batch: config.batchSend === "on" ? instrumentBatchConnector(http, metrics, clock) : undefined,
    batchSettings: options.batch,
    limiter,
    clock,
    storeTime: options.storeTime,
    logger,
    // Local-time schedules: a recipient whose zone Teams did not report takes the tenant's default (PUT /v1/tenants/{id}).
    tenantTimeZone: async (tenantId) => (await store.preferences.tenantSettings(tenantId))?.timeZone,
    // A message waiting for its welcome goes as soon as this process sent the welcome.
    onFinished: (ids) => {
      // Any process's welcome among them ends its hold (WelcomeStore), then this process's waits
      // wake (they look at the hold: woken before the write, they would find it live).
      const ended = store.welcomes?.settled(ids, isoNow(clock)) ?? Promise.resolve();
      void ended
        .catch((e: unknown) => logger.warn({ err: e instanceof Error ? e.message : e }, "welcome holds not ended; they end by themselves"))
        .finally(() => welcomes.settled(ids));
    },
    // Any notification's message into a chat whose welcome is on its way goes after it (not only the installing one's).
    heldForReply: options.quiet ? undefined : (conversationId, id) => welcomes.holds(conversationId, id, welcomeWaitMs),
    config: {
      tenantRps: config.tenantRps,
      tenantTick: config.tenantTick,
      inFlightPolicy: config.inFlightPolicy,
      tenantDisabledTimeoutMs: config.tenantDisabledTimeoutMs,
      blockedRetryMs: config.blockedRetryMs,
      appId: config.appId,
      defaultServiceUrl: cloud.defaultServiceUrl,
      unsubscribeFooter: config.unsubscribeFooter,
      categories: config.categories,
      ...options.delivery,
    },
  });
  const series = store.series
    ? createSeriesService({
        store: store.series,
        engine,
        clock,
        logger: logger.child({ component: "series" }),
        owner: engine.workerId,
        pollMs: options.seriesPollMs,
        // Each run keeps to its creator key's team/group limit as it is now (series.ts stores only tenants).
        creatorLimit: async (keyId) => {
          const key = (await store.apiKeys.list()).find((k) => k.id === keyId);
          return key && (key.teams !== undefined || key.groups !== undefined) ? { teams: key.teams, groups: key.groups } : undefined;
        },
        // On the database's clock, as the engine is (unless told to keep the injected one).
        storeNow: options.storeTime === "clock" ? undefined : () => store.deliveries.databaseNow(),
      })
    : undefined;
  const shutdown = new AbortController();
  // Every reply in flight listens on this signal; a tenant-wide install makes thousands at once,
  // so Node's default of 10 listeners would warn about a leak that is not one.
  setMaxListeners(0, shutdown.signal);
  const reads = pacedReads({
    signal: shutdown.signal,
    connector,
    limiter,
    policies: policiesFor(config.tenantRps, options.delivery?.timeScale ?? 1, config.tenantTick),
    clock,
    logger,
  });
  // Everything the bot says goes through the durable engine (welcomes, answers); reads stay paced.
  const replies = durableReplies({
    engine,
    reads,
    replies: metrics.replies,
    logger,
    signal: shutdown.signal,
    sending: options.engine !== false,
    onStored: async (conversationId, id, kind) => {
      welcomes.stored(conversationId, id);
      if (kind !== "welcome" || !store.welcomes) return;
      // A failure here is logged by durableReplies (the welcome stays stored): the hold then ends by its time.
      await store.welcomes.stored(conversationId, id, new Date(clock.now() + welcomeWaitMs).toISOString());
      // Sent before its id was on the hold (onFinished found nothing to end): end it now.
      if (!(await engine.get(id))?.active) await store.welcomes.settled([id], isoNow(clock));
    },
  });
  // An install's message waits until the welcome's row was really sent (or failed), not just stored.
  welcomes.isFinal = async (id) => !(await engine.get(id))?.active;
  // Each feature registers the card verbs it owns here (polls, acknowledgements, preferences).
  const cardActions = new CardActions(options.onCardAction);
  // Polls and acknowledgements (issue 10): answers, reactions and read receipts, when the store keeps them.
  const responses = store.responses
    ? new ResponseService({
        responses: store.responses,
        deliveries: store.deliveries,
        connector,
        clock,
        logger,
        appId: config.appId,
        cardUpdateIntervalMs: options.cardUpdateIntervalMs,
      })
    : undefined;
  if (responses) cardActions.on(RESPONSE_VERB, responses.cardAction);
  const preferences = new PreferenceService(store.preferences, config.categories, () => isoNow(clock));
  cardActions.on(preferencesVerb, preferencesCardHandler(preferences));
  const handler = new ActivityHandler({
    store,
    replies,
    logger,
    now: () => isoNow(clock),
    welcome,
    onTenantInteraction: (tenantId) => engine.onTenantInteraction(tenantId),
    onCardAction: cardActions.handle,
    onPersonalText: (input) => surveys.onText(input),
    onReaction: responses && ((activity) => responses.reaction(activity)),
    onReadReceipt: responses && ((activity, last) => responses.readReceipt(activity, last)),
    quiet: options.quiet,
    preferences,
    knownName: (tenantId, aadObjectId) => names.nameOf(tenantId, aadObjectId),
    welcomeHoldMs: welcomeWaitMs,
  });
  const verifier =
    config.inboundAuth === "jwt" ? createInboundVerifier({ ...inboundVerifierOptions(config, cloud), clock, logger }) : undefined;
  if (!verifier)
    logger.warn(
      "HERALD_INBOUND_AUTH=off: inbound activities are NOT authenticated. Only for local emulators on loopback; never in production.",
    );
  if (!options.tokens && !config.appPassword && !config.appCertificate && config.appType !== "UserAssignedMSI") {
    logger.info(
      "No HERALD_APP_PASSWORD or HERALD_APP_CERTIFICATE: Connector requests carry no token (what local emulators such as the M365 Agents Playground expect).",
    );
  }

  await warnKeysWiderThanCreator(store.apiKeys, logger);
  const dashboard = new DashboardSessions(clock);
  // People signed in through OpenID Connect are verified like keys (their session's bearer token).
  const keys = withAfterAuth(
    personVerifier(dashboard, adminKeyVerifier(config.apiKey, storedKeyVerifier(store.apiKeys))),
    perKeyRateLimit(clock),
  );
  const oidcConfig = oidcSettings(config);
  const oidc = oidcConfig && new OidcSignIn(oidcConfig, clock, logger);
  registerEngineMetrics(metrics, engine);
  const inbound: BotEndpointDeps = {
    verifier,
    trusted,
    handler,
    logger,
    onActivity: (type, result) => metrics.inbound.inc({ type, result }),
  };
  const app = httpSurface({
    store,
    engine,
    metrics,
    keys,
    inbound,
    series,
    preferences,
    installations,
    dashboard,
    oidc,
    clock,
    logger,
    defaultServiceUrl: cloud.defaultServiceUrl,
  });

  // The dashboard calls the API with its session cookie: turned into the session key's bearer token here.
  const handle = withSessionAuth(dashboard, (req) => app.fetch(req));
  let listener: Listener | undefined;
  /** Every step runs even when an earlier one fails, so no socket, connection or file stays open. */
  const release = async (): Promise<void> => {
    const steps: [string, () => Promise<unknown> | unknown][] = [
      ["survey sweeper", () => clearInterval(sweeper)],
      ["listener", () => listener?.close()],
      ["recurring series", () => series?.stop()],
      ["engine", () => (options.engine !== false ? engine.stop() : undefined)],
      ["responses", () => responses?.stop()],
      ["installations", () => installations?.stop()],
      ["abort", () => shutdown.abort(new Error("Herald is shutting down"))],
      ["inbound handler", () => handler.drain()],
      ["connector client", () => http.close()],
      ["graph client", () => graphAgent?.close()],
      ["redis", () => redis?.disconnect()],
      ["store", () => (options.store ? undefined : store.close())],
    ];
    const failures: unknown[] = [];
    for (const [name, step] of steps)
      await watched(logger, name, () => Promise.resolve().then(step)).catch((e: unknown) => failures.push(e));
    if (failures.length > 0) throw failures[0];
  };
  // Expired surveys end within a quarter of HERALD_SURVEY_TIMEOUT (at most a minute late).
  const sweeper = setInterval(
    () => void surveys.sweep().catch((e: unknown) => logger.warn({ err: (e as Error).message }, "survey expiry sweep failed")),
    Math.min(60_000, Math.max(1_000, config.surveyTimeoutMs / 4)),
  );
  sweeper.unref();
  if (options.engine !== false) {
    try {
      await engine.start();
      series?.start();
      await responses?.start();
      // Installation jobs a stopped process left running continue here (without reinstalling).
      await installations
        ?.resume()
        .catch((e: unknown) =>
          logger.warn({ err: (e as Error).message }, "could not look for installation jobs to resume; trying again shortly"),
        );
    } catch (e) {
      await release().catch(() => undefined);
      throw e;
    }
  }
  return {
    config,
    store,
    connector,
    handler,
    engine,
    series,
    metrics,
    surveys,
    responses,
    receive: (activity, authorization, opts) => receiveActivity(inbound, activity, authorization, opts),
    dashboard,
    fetch: handle,
    graph,
    installer,
    async listen() {
      listener = await listen(handle, config.port, config.host);
      return listener;
    },
    close: release,
  };
}
