import type { AddressInfo } from "node:net";
import { systemClock } from "../clock.js";
import { ConnectorAuth } from "./auth/connector-auth.js";
import { createKeyPair, openIdMetadataPath } from "./auth/keys.js";
import { type EmulatorKeys, registerAuth } from "./auth/routes.js";
import { BotSide } from "./bot/bot-side.js";
import { registerActivities } from "./connector/activities.js";
import { registerBatch } from "./connector/batch.js";
import { BatchOperations } from "./connector/batch-ops.js";
import { registerCreate } from "./connector/create.js";
import { registerMembers } from "./connector/members.js";
import type { EmulatorContext, EmulatorUrls } from "./context.js";
import { registerInspect } from "./control/inspect.js";
import { registerControl } from "./control/routes.js";
import { checkFaults, Faults } from "./faults/faults.js";
import { graphRoutes } from "./graph/index.js";
import { normalisePrefix, Router } from "./http/router.js";
import { createEmulatorServer } from "./http/server.js";
import { Limits } from "./limits/limits.js";
import { type EmulatorOptions, resolveOptions } from "./options.js";
import { loadOrgFile, orgFromData } from "./org/file.js";
import { GeneratedOrg } from "./org/generated.js";
import { IdCodec, Kind } from "./org/ids.js";
import type { Org } from "./org/model.js";
import { ActivityIds, OrgState } from "./org/state.js";
import { Counters } from "./store/counters.js";
import { ConversationCounts, MessageStore } from "./store/messages.js";
import { chatPageRoutes } from "./web/index.js";

export type { EmulatorContext, EmulatorUrls } from "./context.js";
export { EmulatorError } from "./errors.js";
export type { FaultSettings } from "./faults/faults.js";
export { type GraphOptions, graphRoutes, graphState } from "./graph/index.js";
export type { RouteModule } from "./http/module.js";
export type { Call, Handler, Router } from "./http/router.js";
export type { AppCertificateRegistration, ClientCredential, EmulatorOptions, UninstalledAnswer } from "./options.js";
export { loadOrgFile, orgFromData } from "./org/file.js";
export type { OrgSpec } from "./org/generated.js";
export { GeneratedOrg } from "./org/generated.js";
export type { Org, OrgChannel, OrgChat, OrgTeam, OrgTenant, OrgUser } from "./org/model.js";
export { chatPageRoutes } from "./web/index.js";

/** A running emulator. */
export interface EmulatorHandle {
  /** Base URL, e.g. `http://127.0.0.1:40123` (control API under `/_emulator`). */
  url: string;
  /** The Connector's serviceUrl (base + connectorPath + `/`), as the bot sees it in activities. */
  connectorUrl: string;
  /** Client-credentials endpoint for the `botframework.com` tenant (any tenant segment works). */
  tokenUrl: string;
  /** Bot Framework OpenID metadata (point HERALD_OPENID_METADATA_URL here). */
  openIdMetadataUrl: string;
  /** `iss` of the tokens the emulator signs for the bot (HERALD_TOKEN_ISSUER). */
  tokenIssuer: string;
  /** The bot's app id; its Teams id is `28:<appId>`. */
  appId: string;
  org: Org;
  /** Internals for in-process tests and later modules (limits, faults, counters, bot side...). */
  context: EmulatorContext;
  /** Stop listening, drop connections and end background work. */
  close(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

async function loadOrg(o: ReturnType<typeof resolveOptions>): Promise<Org> {
  if (o.orgData !== undefined) return orgFromData(o.orgData, o.seed);
  if (o.orgFile !== undefined) return loadOrgFile(o.orgFile, o.seed);
  return new GeneratedOrg(o.seed, o.org);
}

/**
 * Start the Teams emulator in this process: a Connector (Bot Connector REST API v3 with
 * Teams' rules, limits and faults), a token endpoint and OpenID documents, a bot side that
 * posts signed activities to `botEndpoint`, and a control API under `/_emulator`.
 *
 * Control API (JSON; errors `{error:{code,message}}`):
 * - `GET /_emulator` summary; `GET /_emulator/stats` counters global and per tenant;
 *   `POST /_emulator/stats/reset`.
 * - `GET|PUT|DELETE /_emulator/faults` (body FaultSettings: shares 0..1 of status412, status429,
 *   status500, status502, status503, status504, reset, slow, deliverReset, deliverLate, deliver502,
 *   deliver504; slowMs; deliverLateMs; retryAfterSeconds; count; method; tenantId). DELETE ends all
 *   faults. `deliverReset`/`deliverLate`/`deliver502`/`deliver504` do the request, then destroy
 *   the socket / answer late / answer a gateway's error (see README.md, "Faults").
 * - `GET|PATCH /_emulator/auth` `{enabled}`: require bearer tokens on Connector calls or not.
 * - `GET|PATCH /_emulator/limits` `{enabled?, timeScale?, tenantRps?, retryAfterFormat?, violationGraceMs?}`.
 * - `GET /_emulator/tenants`; `PATCH /_emulator/tenants/{id}` `{botDisabled}`.
 * - `GET /_emulator/users?tenantId=&cursor=&limit=`; `GET|PATCH /_emulator/users/{id}` `{blocked?, uninstalled?}`.
 * - `GET /_emulator/teams?tenantId=`, `/_emulator/teams/{id}`, `/_emulator/teams/{id}/members`; `GET /_emulator/chats`.
 * - `POST /_emulator/teams/{id}/members` `{user, by?, times?}` and `DELETE /_emulator/teams/{id}/members/{user}`
 *   (body `{by?, times?}` optional): someone joins or leaves a team; the roster changes and, when the
 *   app is in the team, the bot gets Teams' `conversationUpdate` teamMemberAdded / teamMemberRemoved
 *   (`times` delivers that same activity again). Answers `{teamId, userId, aadObjectId, member,
 *   changed, activityId, deliveries: [{status}]}`; no activity when nothing changed.
 * - `GET /_emulator/conversations`; `GET /_emulator/conversations/{id}/messages?limit=` (with history).
 * - `GET|PUT /_emulator/bot` `{endpoint}`.
 * - `POST /_emulator/install` and `/_emulator/uninstall` with one of `{users:[id]}`, `{tenantId}`,
 *   `{all:true}`, `{teamId, channelId?, installedBy?}`, `{chatId, installedBy?}`, plus `wait?`:
 *   202 job (or 200 finished job with wait); `GET /_emulator/jobs[/{id}]`, `DELETE /_emulator/jobs/{id}`.
 * - `POST /_emulator/messages` `{from, text, conversationId?|teamId?|channelId?|chatId?, replyToId?}`;
 *   `POST /_emulator/invoke` `{from, replyToId, verb?, data?, actionId?, conversationId?}`;
 *   `POST /_emulator/read` `{from, lastReadMessageId?}`;
 *   many users at once, answered with counts per status and each answer's latency:
 *   `POST /_emulator/invokes` `{users, verb, data?, conversationId?, replyToId?, withBody?}`,
 *   `POST /_emulator/reactions` `{users, types?, action?: "add"|"remove", conversationId?, replyToId?}`,
 *   `POST /_emulator/reads` `{users, lastReadMessageId?}` (default: each user's latest bot message).
 *
 * Registered by default (see graph/ and web/): the Microsoft Graph subset under `/v1.0` and
 * `/beta` (app catalog, installs for users, teams and chats, the chat of an installation,
 * users, groups' transitive members; `GET /_emulator/graph` for its counters), and the live
 * chat page `GET /_emulator/chat[?conversation=<id>]` (`GET /` redirects there).
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<EmulatorHandle> {
  const o = resolveOptions(options);
  const faultProblem = checkFaults(o.faults);
  if (faultProblem) throw new Error(`HERALD_E_EMULATOR_OPTIONS: faults: ${faultProblem}`);
  const clock = options.clock ?? systemClock;
  const org = await loadOrg(o);
  const [botKeys, aadKeys] = await Promise.all([createKeyPair("herald-emulator-bot", ["msteams"]), createKeyPair("herald-emulator-aad")]);
  const keys: EmulatorKeys = { bot: botKeys, aad: aadKeys };
  const appId = o.appId ?? new IdCodec(o.seed).guid(Kind.app, 0);
  const connectorPath = normalisePrefix(o.connectorPath);
  const urls: EmulatorUrls = { base: "", connectorPath, serviceUrl: "" };
  const faults = new Faults(o.seed);
  const partial = {
    options: o,
    clock,
    org,
    state: new OrgState(org),
    counters: new Counters(org.tenants.length),
    messages: new MessageStore({ globalCap: o.messageCap, conversationCap: o.conversationMessageCap, historyCap: o.historyCap }),
    counts: new ConversationCounts(org.userCount),
    limits: new Limits(org.tenants.length, {
      enabled: o.limits,
      timeScale: o.timeScale,
      tenantRps: o.tenantRps,
      retryAfterFormat: o.retryAfterFormat,
      violationGraceMs: o.violationGraceMs,
    }),
    faults,
    auth: new ConnectorAuth(
      aadKeys,
      clock,
      o.auth,
      o.clients,
      o.appCertificates.map((c) => ({ appId: c.appId ?? appId, certificate: c.certificate })),
    ),
    activityIds: new ActivityIds(clock.now()),
    appId,
    urls,
  };
  const ctx = partial as EmulatorContext & { batches: BatchOperations; bot: BotSide };
  ctx.batches = new BatchOperations(ctx);
  ctx.bot = new BotSide(ctx, botKeys);
  const faultTenant = o.faults.tenantId ? org.tenantByIdOrDomain(o.faults.tenantId) : undefined;
  if (o.faults.tenantId && !faultTenant)
    throw new Error(`HERALD_E_EMULATOR_OPTIONS: faults.tenantId ${o.faults.tenantId} is not a tenant of the organisation`);
  faults.set(o.faults, faultTenant?.index ?? -1);

  const router = new Router();
  registerAuth(router, ctx, keys);
  registerCreate(router, ctx);
  registerActivities(router, ctx);
  registerMembers(router, ctx);
  registerBatch(router, ctx);
  registerInspect(router, ctx);
  registerControl(router, ctx);
  for (const module of options.routes ?? []) module(router, ctx);
  // Default modules come after `routes`; each registers once per emulator, so a configured
  // one given in `routes` (e.g. graphRoutes({manifestId})) replaces the default.
  for (const module of [graphRoutes(), chatPageRoutes()]) module(router, ctx);

  const server = createEmulatorServer(router, {
    maxBodyBytes: 16 * 1024 * 1024,
    onError: (err) => process.emitWarning(`Teams emulator: ${(err as Error).stack ?? String(err)}`),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  urls.base = `http://${urlHost(o.host)}:${port}`;
  urls.serviceUrl = `${urls.base}${connectorPath}/`;
  ctx.auth.baseUrl = urls.base;

  // Forget limit state that can no longer matter; unref'd so it never keeps the process alive.
  const sweeper = setInterval(() => ctx.limits.sweep(clock.now()), 5_000);
  sweeper.unref();

  return {
    url: urls.base,
    connectorUrl: urls.serviceUrl,
    tokenUrl: `${urls.base}/botframework.com/oauth2/v2.0/token`,
    openIdMetadataUrl: urls.base + openIdMetadataPath,
    tokenIssuer: o.tokenIssuer,
    appId,
    org,
    context: ctx,
    close: async () => {
      clearInterval(sweeper);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await ctx.bot.close();
    },
  };
}
