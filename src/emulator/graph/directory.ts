import type { Router } from "../http/router.js";
import type { OrgTeam } from "../org/model.js";
import { graphUserIndex } from "./ids.js";
import type { GraphEnv } from "./installs.js";
import { userOwner } from "./installs.js";
import { applySelect, matchFilter, parseExpand, parseFilter, parseSelect, parseTop } from "./odata.js";
import { appDefinitionJson, appFields, graphUserJson, teamsAppJson } from "./resources.js";
import { type GraphCaller, GraphError, graphHandler, sameTenant, sendGraph } from "./respond.js";

/** Graph's page size of member listings when `$top` is absent, and its largest `$top`. */
export const MEMBERS_PAGE = 100;
export const MEMBERS_TOP_MAX = 999;
/** `$skiptoken` list ids of `GET /users` (one per tenant), apart from group indexes. */
const USERS_LIST = 1_000_000;

/** An opaque `$skiptoken` bound to a group: `<group index>.<offset>` in base64url. */
export function skipToken(group: number, offset: number): string {
  return Buffer.from(`m1.${group}.${offset}`, "utf8").toString("base64url");
}

/** The offset a `$skiptoken` stands for, or undefined when it is not one of this group's. */
export function readSkipToken(token: string, group: number, total: number): number | undefined {
  const m = /^m1\.(\d+)\.(\d+)$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (!m || Number(m[1]) !== group) return undefined;
  const offset = Number(m[2]);
  return offset > 0 && offset < total ? offset : undefined;
}

function groupTeam(env: GraphEnv, caller: GraphCaller, id: string): OrgTeam {
  const found = env.ctx.org.teamById(id);
  const team = found && found.aadGroupId.toLowerCase() === id.toLowerCase() ? found : undefined;
  if (!team || !sameTenant(caller, team.tenantIndex))
    throw new GraphError(
      404,
      "Request_ResourceNotFound",
      `Resource '${id}' does not exist or one of its queried reference-property objects are not present. Name groups by their id (GUID).`,
    );
  return team;
}

/**
 * Directory and catalog reads under `/{version}`:
 * - `GET /appCatalogs/teamsApps[?$filter=externalId eq '{manifestId}'&$expand=appDefinitions]`, `GET /appCatalogs/teamsApps/{id}`;
 * - `GET /users/{id}` (Entra object id or UPN; `$select`);
 * - `GET /teams/{groupId}` (`id`, `displayName`, `internalId` = the 19: id, `tenantId`; `$select`);
 * - `GET /groups/{id}/transitiveMembers[/microsoft.graph.user]?$top=&$select=` paged with `@odata.nextLink` (`$skiptoken`).
 */
export function registerDirectory(router: Router, env: GraphEnv, version: string): void {
  const { ctx, counters, app } = env;
  const catalogEntry = (expand: Set<string>) => {
    const json = teamsAppJson(app);
    if (expand.has("appdefinitions")) json["appDefinitions"] = [appDefinitionJson(app, expand.has("bot"))];
    return json;
  };
  router.add(
    "GET",
    `/${version}/appCatalogs/teamsApps`,
    graphHandler(ctx, counters, (call, caller) => {
      const q = new URLSearchParams(call.query);
      const filter = parseFilter(q.get("$filter"));
      if ("error" in filter) throw new GraphError(400, "BadRequest", filter.error);
      const match =
        matchFilter(filter.clauses, appFields(app, "")) && !(caller.tenant >= 0 && env.refusals.notInCatalog.has(caller.tenant));
      if (match === undefined) throw new GraphError(400, "BadRequest", `Could not find a property named in $filter ${q.get("$filter")}.`);
      sendGraph(call, 200, {
        "@odata.context": `${ctx.urls.base}/${version}/$metadata#appCatalogs/teamsApps`,
        value: match ? [catalogEntry(parseExpand(q.get("$expand")))] : [],
      });
    }),
  );
  router.add(
    "GET",
    `/${version}/appCatalogs/teamsApps/:app`,
    graphHandler(ctx, counters, (call) => {
      if (call.params[0]!.toLowerCase() !== app.catalogId.toLowerCase())
        throw new GraphError(404, "NotFound", `App ${call.params[0]} is not in the app catalog.`);
      const expand = parseExpand(new URLSearchParams(call.query).get("$expand"));
      sendGraph(call, 200, {
        "@odata.context": `${ctx.urls.base}/${version}/$metadata#appCatalogs/teamsApps/$entity`,
        ...catalogEntry(expand),
      });
    }),
  );

  router.add(
    "GET",
    `/${version}/users`,
    graphHandler(ctx, counters, (call, caller) => {
      const tenant = ctx.org.tenants[Math.max(0, caller.tenant)]!;
      const q = new URLSearchParams(call.query);
      const top = parseTop(q.get("$top"), MEMBERS_PAGE, MEMBERS_TOP_MAX);
      if (top === undefined)
        throw new GraphError(400, "Request_BadRequest", `Invalid $top: it must be a whole number within 1..${MEMBERS_TOP_MAX}.`);
      const filter = parseFilter(q.get("$filter"));
      if ("error" in filter) throw new GraphError(400, "BadRequest", filter.error);
      const select = parseSelect(q.get("$select"));
      const value: Record<string, unknown>[] = [];
      const listId = USERS_LIST + tenant.index;
      if (filter.clauses.length > 0) {
        // Only `mail eq` / `userPrincipalName eq` / `id eq`: answered by decoding, never by a scan.
        for (const c of filter.clauses) {
          if (c.path !== "mail" && c.path !== "userprincipalname" && c.path !== "id")
            throw new GraphError(400, "BadRequest", `This Graph subset filters users by mail, userPrincipalName or id (got ${c.path}).`);
          const index = graphUserIndex(ctx.org, c.value);
          if (index >= 0 && ctx.org.tenantOfUser(index) === tenant.index)
            value.push(applySelect(graphUserJson(ctx.org.user(index), false), select));
        }
        return sendGraph(call, 200, { "@odata.context": `${ctx.urls.base}/${version}/$metadata#users`, value: value.slice(0, 1) });
      }
      const token = q.get("$skiptoken");
      const offset = token ? readSkipToken(token, listId, tenant.userCount) : 0;
      if (offset === undefined)
        throw new GraphError(400, "Request_BadRequest", "The $skiptoken is not valid for this listing; follow @odata.nextLink as given.");
      const end = Math.min(tenant.userCount, offset + top);
      for (let k = offset; k < end; k++) value.push(applySelect(graphUserJson(ctx.org.user(tenant.userStart + k), false), select));
      const page: Record<string, unknown> = { "@odata.context": `${ctx.urls.base}/${version}/$metadata#users`, value };
      if (end < tenant.userCount) {
        const next: string[] = [];
        if (q.has("$top")) next.push(`$top=${top}`);
        if (select) next.push(`$select=${encodeURIComponent(select.join(","))}`);
        next.push(`$skiptoken=${skipToken(listId, end)}`);
        page["@odata.nextLink"] = `${ctx.urls.base}/${version}/users?${next.join("&")}`;
      }
      sendGraph(call, 200, page);
    }),
  );

  router.add(
    "GET",
    `/${version}/users/:user`,
    graphHandler(ctx, counters, (call, caller) => {
      const owner = userOwner(ctx, caller, call.params[0]!);
      const select = parseSelect(new URLSearchParams(call.query).get("$select"));
      sendGraph(call, 200, {
        "@odata.context": `${ctx.urls.base}/${version}/$metadata#users/$entity`,
        ...applySelect(graphUserJson(owner.user, false), select),
      });
    }),
  );

  // A team by its group id (Graph's only id for it): `internalId` is the Connector's 19: id.
  router.add(
    "GET",
    `/${version}/teams/:team`,
    graphHandler(ctx, counters, (call, caller) => {
      const id = call.params[0]!;
      const found = ctx.org.teamById(id);
      const team = found && found.aadGroupId.toLowerCase() === id.toLowerCase() ? found : undefined;
      if (!team || !sameTenant(caller, team.tenantIndex))
        throw new GraphError(404, "NotFound", `No team found with Group Id ${id}. Name teams by their group id (GUID).`);
      env.refusals.checkTeamRead(team.tenantIndex);
      const select = parseSelect(new URLSearchParams(call.query).get("$select"));
      const json: Record<string, unknown> = {
        id: team.aadGroupId,
        displayName: team.name,
        description: null,
        internalId: team.id,
        tenantId: ctx.org.tenants[team.tenantIndex]?.id,
        isArchived: false,
        webUrl: `${ctx.urls.base}/_emulator/team?team=${encodeURIComponent(team.id)}`,
      };
      sendGraph(call, 200, { "@odata.context": `${ctx.urls.base}/${version}/$metadata#teams/$entity`, ...applySelect(json, select) });
    }),
  );

  for (const suffix of ["", "/microsoft.graph.user"]) {
    router.add(
      "GET",
      `/${version}/groups/:group/transitiveMembers${suffix}`,
      graphHandler(ctx, counters, (call, caller) => {
        const team = groupTeam(env, caller, call.params[0]!);
        const q = new URLSearchParams(call.query);
        const top = parseTop(q.get("$top"), MEMBERS_PAGE, MEMBERS_TOP_MAX);
        if (top === undefined)
          throw new GraphError(400, "Request_BadRequest", `Invalid $top: it must be a whole number within 1..${MEMBERS_TOP_MAX}.`);
        const token = q.get("$skiptoken");
        const count = ctx.state.rosters.count(team.index);
        const offset = token ? readSkipToken(token, team.index, count) : 0;
        if (offset === undefined)
          throw new GraphError(400, "Request_BadRequest", "The $skiptoken is not valid for this listing; follow @odata.nextLink as given.");
        const select = parseSelect(q.get("$select"));
        const end = Math.min(count, offset + top);
        const value: Record<string, unknown>[] = [];
        for (let k = offset; k < end; k++)
          value.push(applySelect(graphUserJson(ctx.org.user(ctx.state.rosters.at(team.index, k)), true), select));
        const page: Record<string, unknown> = { "@odata.context": `${ctx.urls.base}/${version}/$metadata#directoryObjects`, value };
        if (end < count) {
          // Graph writes `$` unencoded in next links; values are encoded.
          const next: string[] = [];
          if (q.has("$top")) next.push(`$top=${top}`);
          if (select) next.push(`$select=${encodeURIComponent(select.join(","))}`);
          next.push(`$skiptoken=${skipToken(team.index, end)}`);
          page["@odata.nextLink"] = `${ctx.urls.base}/${version}/groups/${team.aadGroupId}/transitiveMembers${suffix}?${next.join("&")}`;
        }
        sendGraph(call, 200, page);
      }),
    );
  }
}
