import type { Audience } from "../model.js";
import { isGroupId } from "../request.js";
import type { RecipientDirectory } from "../store/port.js";

/**
 * Which teams and Entra groups a key (or a signed-in person) may reach, on top of its tenants
 * (issue 12). Both undefined = no such limit. When either is set the caller is "audience
 * limited": it reaches only the teams in `teams` (their channels and their members) and the
 * groups in `groups`; a team and an Entra group are separate lists because Teams names a team by
 * its thread id (`19:…@thread.tacv2`) while Entra names a group by its object id.
 */
export interface AudienceLimit {
  teams?: readonly string[] | undefined;
  groups?: readonly string[] | undefined;
}

/** True when `limit` restricts audiences to some teams or groups. */
export const isAudienceLimited = (limit: AudienceLimit): boolean => limit.teams !== undefined || limit.groups !== undefined;

const short = (id: string): string => (id.length > 80 ? `${id.slice(0, 80)}…` : id);

/** "teams A, B and groups C", what the caller may reach, for messages. */
export function describeLimit(limit: AudienceLimit): string {
  const parts: string[] = [];
  if (limit.teams) parts.push(limit.teams.length ? `teams ${limit.teams.map(short).join(", ")}` : "no team");
  if (limit.groups) parts.push(limit.groups.length ? `groups ${limit.groups.map(short).join(", ")}` : "no group");
  return parts.join(" and ");
}

/**
 * Why an audience reaches outside a team/group limit (a message naming the first entry
 * outside it), or undefined when it stays within. Decisions:
 * - `all` (with or without tenantId) reaches every person of a tenant: always outside.
 * - `users`: a list of people is not provably inside any team or group (membership would need a
 *   Graph lookup per person, and changes), so it is outside: send to the team's members or the group.
 * - `teams`: each team id must be in `teams`; a team named by its Entra group id must be in
 *   `groups` (or `teams`), compared without regard to letter case.
 * - `channels`: each channel's team (from the stored conversations) must be in `teams`; an unknown
 *   channel cannot be placed, so it is outside.
 * - `conversations`: each must be a stored channel conversation of a team in `teams` (personal and
 *   group chats belong to no team: outside).
 * - `groups`: each group id must be in `groups`.
 * `tenants` narrows the lookups to the caller's tenants (an id of another tenant looks unknown).
 */
export async function audienceOutsideLimit(
  audience: Audience,
  limit: AudienceLimit,
  directory: Pick<RecipientDirectory, "channels">,
  tenants?: readonly string[],
): Promise<string | undefined> {
  if (!isAudienceLimited(limit)) return undefined;
  const reach = describeLimit(limit);
  const teams = limit.teams ?? [];
  if ("all" in audience)
    return `audience.all: this caller may reach only ${reach}, not every person of a tenant; choose teams or groups within that limit.`;
  if ("users" in audience)
    return `audience.users: this caller may reach only ${reach}; a list of people can reach outside them, so send to a team's members (teams + deliverTo "members") or a group instead.`;
  if ("teams" in audience) {
    // A team named by its Entra group id (with tenantId) is within when that id is one of the
    // caller's groups (the team's group) or teams, as for POST /v1/installations.
    const byGroup = (t: string) => audience.tenantId !== undefined && isGroupId(t);
    const lower = [...(limit.groups ?? []), ...teams].map((g) => g.toLowerCase());
    const out = audience.teams.find((t) => (byGroup(t) ? !lower.includes(t.toLowerCase()) : !teams.includes(t)));
    if (out === undefined) return undefined;
    return byGroup(out)
      ? `audience.teams: team "${short(out)}" (an Entra group id) is outside what this caller may reach (${reach}); a team named by its group id must be one of the caller's groups.`
      : `audience.teams: team "${short(out)}" is outside what this caller may reach (${reach}).`;
  }
  if ("groups" in audience) {
    const groups = limit.groups ?? [];
    const out = audience.groups.find((g) => !groups.includes(g));
    return out === undefined ? undefined : `audience.groups: group "${short(out)}" is outside what this caller may reach (${reach}).`;
  }
  const field = "channels" in audience ? "channels" : "conversations";
  const ids = "channels" in audience ? audience.channels : audience.conversations;
  if (teams.length === 0) return `audience.${field}: this caller may reach only ${reach}, and no team's ${field}.`;
  const homes = await directory.channels(ids, tenants);
  for (const id of ids) {
    const home = homes.get(id);
    if (!home)
      return `audience.${field}: "${short(id)}" is not a known channel of a team this caller may reach (${reach}); name channels of those teams only.`;
    if (!teams.includes(home.teamId))
      return `audience.${field}: "${short(id)}" belongs to team "${short(home.teamId)}", outside what this caller may reach (${reach}).`;
  }
  return undefined;
}

/**
 * The limit both of two callers keep to (an approval: the author's and the approver's). A team
 * is reachable only if both may reach it; a side with no team/group limit imposes none.
 */
export function intersectLimits(a: AudienceLimit, b: AudienceLimit): AudienceLimit {
  if (!isAudienceLimited(a)) return { teams: b.teams, groups: b.groups };
  if (!isAudienceLimited(b)) return { teams: a.teams, groups: a.groups };
  const both = (x: readonly string[] | undefined, y: readonly string[] | undefined): string[] =>
    (x ?? []).filter((v) => (y ?? []).includes(v));
  return { teams: both(a.teams, b.teams), groups: both(a.groups, b.groups) };
}

/** What `POST /v1/installations` installs for: exactly one kind, in one tenant. */
export interface InstallTargets {
  users?: readonly string[] | undefined;
  groups?: readonly string[] | undefined;
  /** Entra group ids of teams (Graph names a team by its group). */
  teams?: readonly string[] | undefined;
  chats?: readonly string[] | undefined;
  all?: true | undefined;
}

/**
 * Why an installation reaches outside a team/group limit (a message naming the first entry
 * outside), or undefined when it stays within. As audienceOutsideLimit: `all` and `users` are
 * outside; `chats` (group chats belong to no team) are outside; each group must be in `groups`.
 * A team is named here by its Entra group id, not its thread id, so it is within when that id is
 * in `groups` (the team's group) or in `teams` (a limit that names it so).
 */
export function installOutsideLimit(targets: InstallTargets, limit: AudienceLimit): string | undefined {
  if (!isAudienceLimited(limit)) return undefined;
  const reach = describeLimit(limit);
  if (targets.all)
    return `all: this caller may reach only ${reach}, not every person of a tenant; install for teams or groups within that limit.`;
  if (targets.users)
    return `users: this caller may reach only ${reach}; a list of people can reach outside them, so install for a team or group instead.`;
  if (targets.chats) return `chats: this caller may reach only ${reach}; group chats belong to no team.`;
  const groups = limit.groups ?? [];
  if (targets.groups) {
    const out = targets.groups.find((g) => !groups.includes(g));
    return out === undefined ? undefined : `groups: group "${short(out)}" is outside what this caller may reach (${reach}).`;
  }
  const teams = limit.teams ?? [];
  const out = (targets.teams ?? []).find((t) => !groups.includes(t) && !teams.includes(t));
  return out === undefined
    ? undefined
    : `teams: team "${short(out)}" is outside what this caller may reach (${reach}); a team is named here by its Entra group id, which must be one of the caller's groups.`;
}
