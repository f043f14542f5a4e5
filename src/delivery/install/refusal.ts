import { GraphError } from "../../graph/errors.js";
import type { RowError } from "../model.js";

/**
 * Outcome codes of proactive installation, kept on delivery rows (and installation jobs):
 * each says what Graph refused and what an admin does about it.
 */
export const installCodes = {
  /** The tenant's app permission policy does not allow the app for this user. */
  appPolicy: "HERALD_E_INSTALL_APP_POLICY",
  /** The app is not in the tenant's catalog (upload the package from `herald app-package`). */
  notInCatalog: "HERALD_E_INSTALL_NOT_IN_CATALOG",
  /** The user has no Teams licence. */
  noLicense: "HERALD_E_INSTALL_NO_LICENSE",
  /** Graph throttled installs for this tenant (429/503): tried again after Retry-After. */
  throttled: "HERALD_E_INSTALL_THROTTLED",
  /** The directory has no such user (id, UPN or email). */
  userNotFound: "HERALD_E_INSTALL_USER_NOT_FOUND",
  /**
   * Herald's app registration lacks the Graph install permission of the scope (users:
   * TeamsAppInstallation.ReadWriteSelfForUser.All, teams: ...ReadWriteSelfForTeam.All, group chats:
   * ...ReadWriteSelfForChat.All) or its admin consent.
   */
  graphPermission: "HERALD_E_INSTALL_GRAPH_PERMISSION",
  /**
   * The app is in the team, but Herald may not read the team (`GET /teams/{id}` answered 403: the
   * app registration lacks Team.ReadBasic.All) and Teams sent no install event to learn it from.
   */
  teamReadPermission: "HERALD_E_INSTALL_TEAM_READ_PERMISSION",
  /** No such team (named by its Entra group id) or group chat for Graph in this tenant. */
  targetNotFound: "HERALD_E_INSTALL_TARGET_NOT_FOUND",
  /** The app was installed in a team, but neither Teams' install event nor Graph gave the team's conversation in time. */
  teamNotReached: "HERALD_E_INSTALL_TEAM_TIMEOUT",
  /** Graph refused for another reason (its code is in the message). */
  refused: "HERALD_E_INSTALL_REFUSED",
  /** Graph could not be reached or failed (5xx, network): tried again, then failed. */
  unavailable: "HERALD_E_INSTALL_UNAVAILABLE",
} as const;

/** What a failed install means for the recipient. */
export type InstallVerdict =
  | { kind: "refused"; status: "failed" | "notFound"; error: RowError }
  | { kind: "throttled"; retryAfterMs: number; error: RowError }
  | { kind: "transient"; error: RowError };

const LICENSE = /licen[cs]e/i;
const POLICY = /polic(y|ies)|blocked|not allowed/i;
/** Graph's words when the calling app itself lacks a permission (not the tenant's Teams app policy). */
const GRAPH_PERMISSION = /missing (role|scope) permissions|Authorization_RequestDenied|insufficient privileges/i;

/** Where an install goes (installer.ts InstallScope): a user's personal scope, a team, a group chat. */
export type InstallTargetScope = "user" | "team" | "chat";

/**
 * The least-privileged Graph application permission that lets an app install itself in each scope
 * (Graph's "Add app to user / team / chat" pages; the README's Graph section names them too).
 */
export const installPermission: Readonly<Record<InstallTargetScope, string>> = {
  user: "TeamsAppInstallation.ReadWriteSelfForUser.All",
  team: "TeamsAppInstallation.ReadWriteSelfForTeam.All",
  chat: "TeamsAppInstallation.ReadWriteSelfForChat.All",
};

/** The Graph application permission `GET /teams/{id}` needs (its least-privileged one). */
export const teamReadPermission = "Team.ReadBasic.All";

/** Whether a Graph answer says the calling app itself lacks a permission (not the tenant's Teams app policy). */
export function isGraphPermissionRefusal(e: unknown): boolean {
  return e instanceof GraphError && e.status === 403 && GRAPH_PERMISSION.test(`${e.graphCode ?? ""} ${e.serverMessage ?? ""}`);
}

/**
 * Pure: a Graph install failure as a verdict with its outcome code. `target` names the user,
 * team or chat in messages; `scope` picks the permission a permission refusal names.
 */
export function judgeInstall(e: unknown, target: string, scope: InstallTargetScope = "user"): InstallVerdict {
  const user = scope === "user" ? target : scope === "team" ? `team ${target}` : `group chat ${target}`;
  if (!(e instanceof GraphError) || e.status === undefined) {
    const msg = e instanceof Error ? e.message : String(e);
    return { kind: "transient", error: { code: installCodes.unavailable, message: msg.slice(0, 500) } };
  }
  const said = `Graph answered ${e.status}${e.graphCode ? ` ${e.graphCode}` : ""}${e.serverMessage ? `: ${e.serverMessage}` : ""}`.slice(
    0,
    400,
  );
  if (e.throttled)
    return {
      kind: "throttled",
      retryAfterMs: e.retryAfterMs ?? 1_000,
      error: {
        code: installCodes.throttled,
        message: `Graph throttled app installs for this tenant; trying again after Retry-After. ${said}`,
      },
    };
  if (e.status >= 500) return { kind: "transient", error: { code: installCodes.unavailable, message: said } };
  const text = `${e.graphCode ?? ""} ${e.serverMessage ?? ""}`;
  if (e.status === 403 && LICENSE.test(text))
    return {
      kind: "refused",
      status: "failed",
      error: {
        code: installCodes.noLicense,
        message: `${user} has no Microsoft Teams licence: the app cannot be installed for them. ${said}`,
      },
    };
  if (e.status === 403 && GRAPH_PERMISSION.test(text))
    return {
      kind: "refused",
      status: "failed",
      error: {
        code: installCodes.graphPermission,
        message: `Herald's app registration may not install apps ${scope === "user" ? "for users" : scope === "team" ? "in teams" : "in group chats"} through Graph: grant it the application permission ${installPermission[scope]} with admin consent in this tenant. ${said}`,
      },
    };
  if (e.status === 403 && POLICY.test(text))
    return {
      kind: "refused",
      status: "failed",
      error: {
        code: installCodes.appPolicy,
        message: `The tenant's app permission policy does not allow the app for ${user}; an admin can allow it in the Teams admin center. ${said}`,
      },
    };
  if (e.status === 404 && /user|Request_ResourceNotFound/i.test(text))
    return {
      kind: "refused",
      status: "notFound",
      error: { code: installCodes.userNotFound, message: `No user ${user} in the directory. ${said}` },
    };
  if (e.status === 404)
    return {
      kind: "refused",
      status: "failed",
      error: {
        code: installCodes.notInCatalog,
        message: `The app is not in the tenant's app catalog; upload the package from \`herald app-package\`. ${said}`,
      },
    };
  return {
    kind: "refused",
    status: "failed",
    error: { code: installCodes.refused, message: `Graph refused to install the app for ${user}. ${said}` },
  };
}
