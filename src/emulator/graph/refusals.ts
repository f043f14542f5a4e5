import type { EmulatorContext } from "../context.js";
import { isRecord, parseJsonBody, sendJson } from "../http/io.js";
import type { Router } from "../http/router.js";
import { graphUserIndex } from "./ids.js";
import { GraphError } from "./respond.js";

/**
 * Why Graph may refuse an install, set through the control API so tests can produce each case:
 * - `policy` (tenant): the tenant's app permission policy blocks the app: 403 Forbidden;
 * - `notInCatalog` (tenant): the app is not in the tenant's catalog: the catalog lookup finds
 *   nothing and an install naming it answers 404 NotFound;
 * - `noLicense` (users): the user has no Teams licence: 403 Forbidden;
 * - `noInstallPermission` (tenant): the calling app lacks the install permission of the scope
 *   (its consent was not granted in that tenant): every install answers 403 "Missing role permissions";
 * - `noTeamRead` (tenant): the calling app lacks Team.ReadBasic.All: `GET /teams/{id}` answers 403.
 * The messages follow Graph's wording closely enough that a client can tell them apart.
 */
export class InstallRefusals {
  readonly policy = new Set<number>();
  readonly notInCatalog = new Set<number>();
  readonly noLicense = new Set<number>();
  readonly noInstallPermission = new Set<number>();
  readonly noTeamRead = new Set<number>();

  /** Throw Graph's 403 for an app without the install permission of `scope` in `tenant`, if so set. */
  checkPermission(tenant: number, scope: "user" | "team" | "chat"): void {
    if (!this.noInstallPermission.has(tenant)) return;
    const which = scope === "user" ? "User" : scope === "team" ? "Team" : "Chat";
    throw new GraphError(
      403,
      "Forbidden",
      `Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadWriteSelfFor${which}.All, TeamsAppInstallation.ReadWriteFor${which}.All'. Roles on the request ''.`,
    );
  }

  /** Throw Graph's 403 for `GET /teams/{id}` when the app lacks Team.ReadBasic.All in `tenant`, if so set. */
  checkTeamRead(tenant: number): void {
    if (this.noTeamRead.has(tenant))
      throw new GraphError(
        403,
        "Forbidden",
        "Missing role permissions on the request. API requires one of 'Team.ReadBasic.All, TeamSettings.Read.All, TeamSettings.ReadWrite.All, Directory.Read.All, Directory.ReadWrite.All'. Roles on the request ''.",
      );
  }

  /** Throw the refusal an install for `userIndex` (or a team/chat: -1) of `tenant` gets, if any. */
  check(tenant: number, userIndex: number): void {
    if (this.policy.has(tenant))
      throw new GraphError(
        403,
        "Forbidden",
        "App installation is blocked by the tenant's app permission policy (the admin does not allow this app for the user).",
      );
    if (userIndex >= 0 && this.noLicense.has(userIndex))
      throw new GraphError(403, "Forbidden", "The user does not have a valid Microsoft Teams license; apps cannot be installed for them.");
  }
}

/**
 * `PUT /_emulator/graph/refusals` `{tenantId?, policy?: boolean, notInCatalog?: boolean, noInstallPermission?: boolean,
 * noTeamRead?: boolean, noLicense?: [user ids or UPNs], licensed?: [...]}`,
 * `DELETE /_emulator/graph/refusals` (clear all), `GET` (show).
 */
export function registerRefusals(router: Router, ctx: EmulatorContext, refusals: InstallRefusals): void {
  const show = () => ({
    policy: [...refusals.policy].map((t) => ctx.org.tenants[t]?.id),
    notInCatalog: [...refusals.notInCatalog].map((t) => ctx.org.tenants[t]?.id),
    noInstallPermission: [...refusals.noInstallPermission].map((t) => ctx.org.tenants[t]?.id),
    noTeamRead: [...refusals.noTeamRead].map((t) => ctx.org.tenants[t]?.id),
    noLicense: [...refusals.noLicense].map((u) => ctx.org.user(u).aadObjectId),
  });
  router.add("GET", "/_emulator/graph/refusals", (call) => sendJson(call.res, 200, show()));
  router.add("DELETE", "/_emulator/graph/refusals", (call) => {
    refusals.policy.clear();
    refusals.notInCatalog.clear();
    refusals.noLicense.clear();
    refusals.noInstallPermission.clear();
    refusals.noTeamRead.clear();
    sendJson(call.res, 200, show());
  });
  router.add("PUT", "/_emulator/graph/refusals", (call) => {
    const body = parseJsonBody(call.body);
    if (!isRecord(body)) return sendJson(call.res, 400, { error: { code: "BadRequest", message: "Expected a JSON object." } });
    const tenantId = typeof body["tenantId"] === "string" ? body["tenantId"] : ctx.org.tenants[0]!.id;
    const tenant = ctx.org.tenantByIdOrDomain(tenantId);
    if (!tenant) return sendJson(call.res, 404, { error: { code: "NotFound", message: `No tenant ${tenantId}.` } });
    const flag = (set: Set<number>, v: unknown) => {
      if (v === true) set.add(tenant.index);
      else if (v === false) set.delete(tenant.index);
    };
    flag(refusals.policy, body["policy"]);
    flag(refusals.notInCatalog, body["notInCatalog"]);
    flag(refusals.noInstallPermission, body["noInstallPermission"]);
    flag(refusals.noTeamRead, body["noTeamRead"]);
    for (const [key, on] of [
      ["noLicense", true],
      ["licensed", false],
    ] as const) {
      const list = body[key];
      if (!Array.isArray(list)) continue;
      for (const id of list) {
        const index = typeof id === "string" ? graphUserIndex(ctx.org, id) : -1;
        if (index < 0) return sendJson(call.res, 404, { error: { code: "NotFound", message: `No user ${String(id)}.` } });
        if (on) refusals.noLicense.add(index);
        else refusals.noLicense.delete(index);
      }
    }
    sendJson(call.res, 200, show());
  });
}
