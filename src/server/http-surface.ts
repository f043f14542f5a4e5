import { Hono } from "hono";
import { reportingAuditLog } from "../api/audit.js";
import type { AfterAuth, ApiEnv, ApiKeyVerifier } from "../api/auth.js";
import { conversationRoutes } from "../api/conversations.js";
import { draftRoutes } from "../api/drafts.js";
import { estimateRoutes } from "../api/estimate.js";
import { installationRoutes } from "../api/installations.js";
import { auditRoutes, auditWrites, keyRoutes } from "../api/keys.js";
import { retryRoutes } from "../api/notification-retry.js";
import { notificationRoutes } from "../api/notifications.js";
import { openApiDocument } from "../api/openapi.js";
import { preferenceRoutes } from "../api/preferences.js";
import { reportRoutes } from "../api/reports.js";
import { responseRoutes, responsesSummary } from "../api/responses.js";
import { seriesRoutes } from "../api/series.js";
import { templateRoutes } from "../api/templates.js";
import { tenantRoutes } from "../api/tenants.js";
import { testSendRoutes } from "../api/test-send.js";
import { type Clock, isoNow } from "../clock.js";
import type { DeliveryEngine } from "../delivery/index.js";
import type { InstallationJobs } from "../delivery/install/jobs.js";
import type { SeriesService } from "../delivery/schedule/series-service.js";
import { errorResponse } from "../http/errors.js";
import { type BotEndpointDeps, botEndpoint } from "../inbound/route.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../observability/metrics.js";
import type { PreferenceService } from "../preferences/service.js";
import { StoreError } from "../store/errors.js";
import type { Store } from "../store/ports.js";
import { dashboardRoutes } from "./dashboard.js";
import type { DashboardSessions } from "./dashboard-sessions.js";
import type { OidcSignIn } from "./oidc.js";
import { opsRoutes } from "./ops.js";

/** What the HTTP surface is made of: the parts createHerald built. */
export interface HttpSurfaceDeps {
  store: Store;
  engine: DeliveryEngine;
  metrics: Metrics;
  keys: ApiKeyVerifier & { after: AfterAuth };
  inbound: BotEndpointDeps;
  series: SeriesService | undefined;
  preferences: PreferenceService;
  installations: InstallationJobs | undefined;
  dashboard: DashboardSessions;
  /** Sign-in with the organisation's OpenID Connect provider; undefined = off. */
  oidc?: OidcSignIn | undefined;
  clock: Clock;
  logger: Logger;
  /** The cloud's Connector URL, for audience estimates of conversations Herald never saw. */
  defaultServiceUrl: string;
}

/**
 * Herald's whole HTTP surface as one Hono app: ops routes, the bot endpoint, the API with its audit
 * and metrics middleware, the dashboard, and the error answers every route shares.
 */
export function httpSurface(deps: HttpSurfaceDeps): Hono<ApiEnv> {
  const { store, engine, metrics, keys, inbound, series, preferences, installations, dashboard, clock, logger, defaultServiceUrl } = deps;
  const app = new Hono<ApiEnv>();
  app.use("*", async (c, next) => {
    await next();
    // routePath is the route's pattern (`/v1/notifications/:id`), so labels stay bounded.
    metrics.apiRequests.inc({ method: c.req.method, route: c.req.routePath, status: String(c.res.status) });
  });
  app.route("/", opsRoutes(store, engine, metrics));
  // A NUL in an id or a query value: PostgreSQL stores none, and SQLite would store an id nobody
  // can type. Refused first, the same on both, naming where it is.
  app.use("/v1/*", async (c, next) => {
    const url = new URL(c.req.url);
    const where = /%00/i.test(url.pathname) ? "path" : /%00/i.test(url.search) ? "query" : undefined;
    if (where === undefined) return next();
    return errorResponse(
      c,
      400,
      "HERALD_E_INVALID_INPUT",
      `The URL's ${where} contains a NUL character (%00), which no id or value Herald keeps may hold; remove it.`,
    );
  });
  // Action labels are route patterns (`PATCH /v1/notifications/:id`) or key actions: bounded.
  const auditLog = reportingAuditLog(store.audit, logger, (action) => metrics.auditFailures.inc({ action }));
  app.use("/v1/*", auditWrites(auditLog, clock));
  const openapi = openApiDocument();
  app.get("/openapi.json", (c) => c.json(openapi));
  app.route("/", botEndpoint(inbound));
  app.route("/", conversationRoutes(store, keys));
  const responseStore = store.responses;
  app.route(
    "/",
    notificationRoutes(
      engine,
      keys,
      responseStore && {
        notification: async (n) => ({ read: await responseStore.readCount(n.id), responses: await responsesSummary(responseStore, n) }),
        readTimes: (id, seqs) => responseStore.readTimes(id, seqs),
      },
      series,
    ),
  );
  if (series) app.route("/", seriesRoutes(series, keys, store.recipients));
  if (responseStore) app.route("/", responseRoutes(engine, responseStore, keys));
  app.route("/", retryRoutes(engine, keys));
  app.route("/", reportRoutes(engine, keys));
  app.route("/", tenantRoutes(engine, keys));
  app.route(
    "/",
    preferenceRoutes({
      service: preferences,
      store: store.preferences,
      conversations: store.conversations,
      keys,
      now: () => isoNow(clock),
    }),
  );
  app.route("/", installationRoutes(installations, keys));
  app.route("/", keyRoutes(store.apiKeys, auditLog, keys, clock));
  app.route("/", auditRoutes(store.audit, keys, store.apiKeys));
  // Teams named by group id where the bot is missing are installed while sending when Herald installs (HERALD_AUTO_INSTALL).
  app.route("/", estimateRoutes(store.recipients, defaultServiceUrl, keys, installations !== undefined));
  if (store.drafts) app.route("/", draftRoutes(store.drafts, engine, keys, clock, store.apiKeys, store.recipients));
  if (store.templates) app.route("/", templateRoutes(store.templates, keys, clock));
  app.route("/", testSendRoutes(engine, keys));
  app.route("/", dashboardRoutes({ sessions: dashboard, keys, oidc: deps.oidc }));
  app.notFound((c) => errorResponse(c, 404, "HERALD_E_NOT_FOUND", `No route for ${c.req.method} ${c.req.path}.`));
  app.onError((err, c) => {
    // A page cursor or limit the store refuses is the caller's mistake on every listing, whichever
    // route forgot to translate it (GET /v1/audit did: a forged cursor answered 500).
    if (err instanceof StoreError && err.code === "HERALD_E_STORE_CURSOR") return errorResponse(c, 400, "HERALD_E_BAD_CURSOR", err.message);
    // PostgreSQL's "data exception" class (SQLSTATE 22xxx: a NUL byte in text, a time that is not
    // a time, a number out of range) comes from a value the caller sent that no route's own check
    // caught (a path id, a forged cursor's time): the caller's mistake, on every route, never a 500.
    const sqlState = (err as { code?: unknown }).code;
    if (typeof sqlState === "string" && /^22[0-9A-Z]{3}$/.test(sqlState))
      return errorResponse(
        c,
        400,
        "HERALD_E_INVALID_INPUT",
        `A value in the path or query is not one Herald can use (${err.message.slice(0, 120)}); check the ids and cursors you sent.`,
      );
    if (err instanceof StoreError && err.code === "HERALD_E_STORE_LIMIT")
      return errorResponse(c, 400, "HERALD_E_INVALID_QUERY", err.message);
    logger.error({ err: { message: err.message, stack: err.stack }, path: c.req.path }, "request failed");
    return errorResponse(c, 500, "HERALD_E_INTERNAL", "Herald failed to handle this request; it has been logged. Try again.");
  });

  return app;
}
