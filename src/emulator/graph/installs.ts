import type { EmulatorContext } from "../context.js";
import { isRecord, parseJsonBody } from "../http/io.js";
import type { Call, Router } from "../http/router.js";
import { type OrgChat, type OrgTeam, type OrgUser, UserFlag } from "../org/model.js";
import { C } from "../store/counters.js";
import { catalogIdFromBind, decodeInstallationId, graphUserIndex, installationId } from "./ids.js";
import { matchFilter, parseExpand, parseFilter } from "./odata.js";
import type { InstallRefusals } from "./refusals.js";
import { appDefinitionJson, appFields, type GraphApp, teamsAppJson } from "./resources.js";
import { type GraphCaller, type GraphCounters, GraphError, graphHandler, sameTenant, sendGraph } from "./respond.js";
import type { InstallThrottle } from "./throttle.js";

/** Who an app is installed for: a user (personal scope), a team, or a group chat. */
export type Owner =
  | { kind: "user"; tenant: number; ownerId: string; user: OrgUser }
  | { kind: "team"; tenant: number; ownerId: string; team: OrgTeam }
  | { kind: "chat"; tenant: number; ownerId: string; chat: OrgChat };

/** What the installation routes share. */
export interface GraphEnv {
  ctx: EmulatorContext;
  app: GraphApp;
  counters: GraphCounters;
  throttle: InstallThrottle;
  /** Refusals set through `PUT /_emulator/graph/refusals` (app policy, not in catalog, no licence). */
  refusals: InstallRefusals;
  /** The latest installs, oldest first (at most INSTALL_LOG_CAP), shown at `GET /_emulator/graph`. */
  installLog: InstallLogEntry[];
}

/**
 * One install Graph answered 201, in the order they came. `sendsBefore` is how many messages the
 * emulator had delivered when it came (global `sends`): tests read from it what a client did
 * between two installs (did a team's welcome or post go out before the next team's install?)
 * without comparing clocks.
 */
export interface InstallLogEntry {
  kind: Owner["kind"];
  /** Entra object id (user), group id (team) or chat id. */
  ownerId: string;
  sendsBefore: number;
}

/** Installs kept in the log. */
export const INSTALL_LOG_CAP = 1_000;

/** The user a Graph path names (Entra object id or UPN), as the caller's tenant sees it. */
export function userOwner(ctx: EmulatorContext, caller: GraphCaller, id: string): Owner & { kind: "user" } {
  const index = graphUserIndex(ctx.org, id);
  const user = index >= 0 ? ctx.org.user(index) : undefined;
  if (!user || !sameTenant(caller, user.tenantIndex)) {
    throw new GraphError(
      404,
      "Request_ResourceNotFound",
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present. Name users by Entra object id or user principal name, with a token of their tenant.`,
    );
  }
  return { kind: "user", tenant: user.tenantIndex, ownerId: user.aadObjectId, user };
}

function teamOwner(ctx: EmulatorContext, caller: GraphCaller, id: string): Owner {
  const found = ctx.org.teamById(id);
  // Graph names a team by its group id only; the Connector's 19: id is not a Graph id.
  const team = found && found.aadGroupId.toLowerCase() === id.toLowerCase() ? found : undefined;
  if (!team || !sameTenant(caller, team.tenantIndex))
    throw new GraphError(404, "NotFound", `No team found with Group Id ${id}. Name teams by their group id (GUID).`);
  return { kind: "team", tenant: team.tenantIndex, ownerId: team.aadGroupId, team };
}

function chatOwner(ctx: EmulatorContext, caller: GraphCaller, id: string): Owner {
  const target = ctx.org.threadTarget(id);
  if (target?.kind !== "chat" || !sameTenant(caller, target.chat.tenantIndex))
    throw new GraphError(404, "NotFound", `No chat found with id ${id}. Group chat ids look like 19:...@thread.v2.`);
  return { kind: "chat", tenant: target.chat.tenantIndex, ownerId: target.chat.id, chat: target.chat };
}

/** Whether the app is installed for the owner now. A user who blocked the bot still has it. */
export function isInstalled(ctx: EmulatorContext, owner: Owner): boolean {
  if (owner.kind === "user") return !ctx.state.isUninstalled(owner.user.index);
  if (owner.kind === "team") return !ctx.state.teamRemoved[owner.team.index];
  return !ctx.state.chatRemoved[owner.chat.index];
}

/**
 * Install or remove the app for an owner: the state changes at once, then (when a bot
 * endpoint is set) the emulator sends the bot Teams' installationUpdate + conversationUpdate
 * pair in the background, as Teams does after Graph answers.
 */
function setInstalled(ctx: EmulatorContext, owner: Owner, on: boolean): void {
  const action = on ? "add" : "remove";
  if (owner.kind === "user") {
    ctx.state.setFlag(owner.user.index, UserFlag.uninstalled, !on);
    if (ctx.bot.endpoint) ctx.bot.install({ users: [owner.user.index] }, action);
  } else if (owner.kind === "team") {
    ctx.state.teamRemoved[owner.team.index] = on ? 0 : 1;
    if (ctx.bot.endpoint) ctx.bot.install({ teamId: owner.team.id }, action);
  } else {
    ctx.state.chatRemoved[owner.chat.index] = on ? 0 : 1;
    if (ctx.bot.endpoint) ctx.bot.install({ chatId: owner.chat.id }, action);
  }
}

/** Count a violation, then admit the install operation or throw 429 with Retry-After. */
function throttle(env: GraphEnv, tenant: number): void {
  const { ctx, counters } = env;
  const now = ctx.clock.now();
  const settings = ctx.limits.settings;
  if (env.throttle.isViolation(tenant, now, settings)) counters.violations++;
  const retry = env.throttle.admit(tenant, now, settings);
  if (retry) {
    counters.throttled++;
    throw new GraphError(
      429,
      "TooManyRequests",
      "Too many requests: app installations are limited per app and tenant. Wait for Retry-After.",
      { "retry-after": retry.header },
    );
  }
}

function installationJson(env: GraphEnv, owner: Owner, expand: Set<string>): Record<string, unknown> {
  const json: Record<string, unknown> = { id: installationId(owner.ownerId, env.app.catalogId), consentedPermissionSet: null };
  if (expand.has("teamsapp")) json["teamsApp"] = teamsAppJson(env.app);
  if (expand.has("teamsappdefinition")) json["teamsAppDefinition"] = appDefinitionJson(env.app, expand.has("bot"));
  return json;
}

function installationFields(env: GraphEnv, owner: Owner): Map<string, string> {
  const fields = appFields(env.app, "teamsapp/");
  fields.set("id", installationId(owner.ownerId, env.app.catalogId));
  fields.set("teamsappdefinition/teamsappid", env.app.catalogId);
  fields.set("teamsappdefinition/version", env.app.version);
  fields.set("teamsappdefinition/displayname", env.app.displayName);
  return fields;
}

function contextUrl(env: GraphEnv, version: string, owner: Owner): string {
  const path =
    owner.kind === "user"
      ? `users('${owner.user.aadObjectId}')/teamwork/installedApps`
      : owner.kind === "team"
        ? `teams('${owner.team.aadGroupId}')/installedApps`
        : `chats('${owner.chat.id}')/installedApps`;
  return `${env.ctx.urls.base}/${version}/$metadata#${path}`;
}

/** The installation a path names, or 404 when it is not this owner's installed app. */
function installation(env: GraphEnv, owner: Owner, id: string): void {
  const decoded = decodeInstallationId(id);
  const matches =
    decoded !== undefined &&
    decoded.ownerId.toLowerCase() === owner.ownerId.toLowerCase() &&
    decoded.catalogId.toLowerCase() === env.app.catalogId.toLowerCase();
  if (!matches || !isInstalled(env.ctx, owner))
    throw new GraphError(404, "NotFound", `No installation ${id} here; list installations with GET .../installedApps.`);
}

function install(env: GraphEnv, call: Call, owner: Owner): void {
  const body = parseJsonBody(call.body);
  const bind = isRecord(body) ? body["teamsApp@odata.bind"] : undefined;
  if (typeof bind !== "string")
    throw new GraphError(
      400,
      "BadRequest",
      'The body must name the app: {"teamsApp@odata.bind": "https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/{catalogId}"}.',
    );
  const catalogId = catalogIdFromBind(bind);
  if (!catalogId || catalogId.toLowerCase() !== env.app.catalogId.toLowerCase() || env.refusals.notInCatalog.has(owner.tenant))
    throw new GraphError(
      404,
      "NotFound",
      `App ${catalogId ?? bind} is not in the app catalog; find the catalog id with GET /v1.0/appCatalogs/teamsApps?$filter=externalId eq '{manifestId}'.`,
    );
  throttle(env, owner.tenant);
  env.refusals.checkPermission(owner.tenant, owner.kind);
  env.refusals.check(owner.tenant, owner.kind === "user" ? owner.user.index : -1);
  if (env.ctx.state.tenantDisabled[owner.tenant])
    throw new GraphError(403, "Forbidden", "The tenant admin blocked this app; it cannot be installed.");
  if (isInstalled(env.ctx, owner)) throw new GraphError(409, "Conflict", "App is already installed.");
  env.installLog.push({ kind: owner.kind, ownerId: owner.ownerId, sendsBefore: env.ctx.counters.get(C.sends) });
  if (env.installLog.length > INSTALL_LOG_CAP) env.installLog.shift();
  setInstalled(env.ctx, owner, true);
  env.counters.installs++;
  sendGraph(call, 201, undefined);
}

function uninstall(env: GraphEnv, call: Call, owner: Owner, id: string): void {
  installation(env, owner, id);
  throttle(env, owner.tenant);
  setInstalled(env.ctx, owner, false);
  env.counters.uninstalls++;
  sendGraph(call, 204, undefined);
}

function list(env: GraphEnv, call: Call, owner: Owner, version: string): void {
  const q = new URLSearchParams(call.query);
  const filter = parseFilter(q.get("$filter"));
  if ("error" in filter) throw new GraphError(400, "BadRequest", filter.error);
  const expand = parseExpand(q.get("$expand"));
  const value: Record<string, unknown>[] = [];
  if (isInstalled(env.ctx, owner)) {
    const match = matchFilter(filter.clauses, installationFields(env, owner));
    if (match === undefined) throw new GraphError(400, "BadRequest", `Could not find a property named in $filter ${q.get("$filter")}.`);
    if (match) value.push(installationJson(env, owner, expand));
  }
  sendGraph(call, 200, { "@odata.context": contextUrl(env, version, owner), value });
}

/**
 * App installations under `/{version}` (v1.0 and beta):
 * - `POST /users/{id}/teamwork/installedApps` `{"teamsApp@odata.bind": ".../appCatalogs/teamsApps/{catalogId}"}` → 201, 409 when installed;
 * - `GET /users/{id}/teamwork/installedApps[?$expand=teamsApp,teamsAppDefinition&$filter=teamsApp/id eq '...']`;
 * - `GET|DELETE /users/{id}/teamwork/installedApps/{installationId}`; `GET .../{installationId}/chat` → the 1:1 chat (`a:` id);
 * - the same for `/teams/{groupId}/installedApps` and `/chats/{chatId}/installedApps`.
 */
export function registerInstalls(router: Router, env: GraphEnv, version: string): void {
  const { ctx, counters } = env;
  const scopes: [string, (caller: GraphCaller, id: string) => Owner][] = [
    [`/${version}/users/:owner/teamwork/installedApps`, (caller, id) => userOwner(ctx, caller, id)],
    [`/${version}/teams/:owner/installedApps`, (caller, id) => teamOwner(ctx, caller, id)],
    [`/${version}/chats/:owner/installedApps`, (caller, id) => chatOwner(ctx, caller, id)],
  ];
  for (const [base, ownerOf] of scopes) {
    const handle = (fn: (call: Call, owner: Owner) => void) =>
      graphHandler(ctx, counters, (call, caller) => fn(call, ownerOf(caller, call.params[0]!)));
    router.add(
      "POST",
      base,
      handle((call, owner) => install(env, call, owner)),
    );
    router.add(
      "GET",
      base,
      handle((call, owner) => list(env, call, owner, version)),
    );
    router.add(
      "GET",
      `${base}/:installation`,
      handle((call, owner) => {
        installation(env, owner, call.params[1]!);
        const expand = parseExpand(new URLSearchParams(call.query).get("$expand"));
        sendGraph(call, 200, { "@odata.context": `${contextUrl(env, version, owner)}/$entity`, ...installationJson(env, owner, expand) });
      }),
    );
    router.add(
      "DELETE",
      `${base}/:installation`,
      handle((call, owner) => uninstall(env, call, owner, call.params[1]!)),
    );
  }
  router.add(
    "GET",
    `/${version}/users/:owner/teamwork/installedApps/:installation/chat`,
    graphHandler(ctx, counters, (call, caller) => {
      const owner = userOwner(ctx, caller, call.params[0]!);
      installation(env, owner, call.params[1]!);
      const u = owner.user;
      const tenantId = ctx.org.tenants[u.tenantIndex]!.id;
      const id = ctx.org.personalConversationId(u.index);
      sendGraph(call, 200, {
        "@odata.context": `${ctx.urls.base}/${version}/$metadata#chats/$entity`,
        id,
        topic: null,
        createdDateTime: new Date(ctx.activityIds.first).toISOString(),
        lastUpdatedDateTime: new Date(ctx.clock.now()).toISOString(),
        chatType: "oneOnOne",
        webUrl: `${ctx.urls.base}/_emulator/chat?conversation=${encodeURIComponent(id)}`,
        tenantId,
        onlineMeetingInfo: null,
        viewpoint: null,
      });
    }),
  );
}
