import { rowCodes } from "../errors.js";
import type { Audience, NewDelivery } from "../model.js";
import { isGroupId } from "../request.js";
import type { KnownTeamMember, RecipientDirectory, StoredRecipient, TeamHome } from "../store/port.js";
import { type BlockedRetry, claimRetries, withRetry } from "./blocked-retry.js";
import type { DirectoryGraph } from "./directory-graph.js";
import {
  channelRow,
  conversationRow,
  failedTeamRow,
  lookupForms,
  memberRow,
  uninstalledTeamRow,
  unknownConversationRow,
  userRow,
} from "./rows.js";
import type { ExpansionCursor } from "./stream.js";
import { resolveNames } from "./upn.js";

/** What `POST /v1/notifications` learns before it answers. */
export interface Resolution {
  /** Rows written with the notification, before the 202 (explicit lists, and teams that cannot be expanded). */
  rows: NewDelivery[];
  /** Recipients still to come from a background expansion (`all`, team rosters). */
  streaming: boolean;
  /** Tenants the audience touches; undefined = any tenant (`all` without tenantId). */
  tenants: Set<string> | undefined;
  /** Where a streaming expansion starts (team rosters of a tenant-limited caller carry its tenants). */
  cursor?: ExpansionCursor | undefined;
}

/**
 * Resolve an audience against the stored conversations. Explicit lists (conversations, users,
 * channels, teams' General channels) become all their rows now, so they are durable before the
 * 202; `all` and team rosters stream in the background from a resumable cursor (stream.ts).
 * Lookups are batched (one query per 500 ids).
 *
 * `scope` is a tenant-limited caller's tenants: every lookup leaves out the other tenants, so an
 * id of another tenant becomes the same failed "unknown" row as an id Herald never saw, and the
 * answer tells nothing about the other tenant (issue 9). Callers check an explicit
 * `audience.tenantId` against the scope before calling.
 *
 * `teamInstall` (HERALD_AUTO_INSTALL): a team named by its Entra group id that Herald knows no
 * active conversation of is installed by the expansion (stream.ts) instead of failing now.
 */
export async function resolveAudience(
  audience: Audience,
  directory: RecipientDirectory,
  category: string | undefined,
  defaultServiceUrl: string,
  retry?: BlockedRetry,
  scope?: readonly string[],
  graph?: DirectoryGraph,
  teamInstall?: boolean,
): Promise<Resolution> {
  if ("conversations" in audience) {
    const found = await directory.conversations(audience.conversations, scope);
    const claimed = await claimRetries(found.values(), directory, retry);
    const rows = audience.conversations.map((id) => {
      const r = withRetry(found.get(id), claimed);
      return r ? conversationRow(r, category) : unknownConversationRow(id);
    });
    return { rows, streaming: false, tenants: tenantsOf(rows) };
  }
  if ("users" in audience) {
    // UPNs and emails become Entra object ids through Graph; unknown ones end notFound, named.
    const names = await resolveNames(audience.users, audience.tenantId, graph);
    const users = names.ids;
    // An Entra object id may be given in any letter case: look it up in each (lookupForms).
    const found = await directory.personalChats(users.flatMap(lookupForms), audience.tenantId);
    const chats = new Map<string, StoredRecipient>();
    for (const u of users) {
      const chat = lookupForms(u)
        .map((f) => found.get(f))
        .find((c) => c !== undefined);
      if (chat) chats.set(u, chat);
    }
    const claimed = await claimRetries(chats.values(), directory, retry);
    const tenantId = audience.tenantId;
    const missing = users.filter((u) => !chats.has(u));
    // Someone Herald learnt joined a team (teamMemberAdded) gets a chat created with their Teams
    // id on the team's serviceUrl, as a member of a team audience would (issue 15).
    const known = tenantId !== undefined ? await knownMembers(directory, missing, tenantId) : new Map<string, KnownTeamMember>();
    const strangers = missing.filter((u) => !known.has(u));
    // A known member's opt-out may be kept under their Teams id, or their Entra object id in any letter case.
    const memberPrefIds = (m: KnownTeamMember, id: string) => [
      m.userId,
      ...lookupForms(id),
      ...(m.aadObjectId ? lookupForms(m.aadObjectId) : []),
    ];
    const prefIds = [...missing, ...[...known.entries()].flatMap(([id, m]) => memberPrefIds(m, id))];
    const prefs = tenantId !== undefined && missing.length > 0 ? await directory.preferences(tenantId, prefIds) : new Map();
    const serviceUrl =
      tenantId !== undefined && strangers.length > 0 ? ((await directory.serviceUrlOf(tenantId)) ?? defaultServiceUrl) : undefined;
    const rows = users.map((id) => {
      const m = known.get(id);
      if (m)
        return memberRow(
          { id: m.userId, name: m.name, aadObjectId: m.aadObjectId, tenantId: m.home.tenantId },
          m.home,
          undefined,
          mergedPreference(memberPrefIds(m, id).map((p) => prefs.get(p))),
          category,
        );
      return userRow(id, withRetry(chats.get(id), claimed), tenantId, serviceUrl, prefs.get(id), category);
    });
    rows.push(...names.unknown);
    const tenants = tenantsOf(rows);
    if (tenantId !== undefined) tenants.add(tenantId);
    return { rows, streaming: false, tenants };
  }
  if ("channels" in audience) {
    const homes = await directory.channels(audience.channels, scope);
    const rows = audience.channels.map((id) => channelRow(id, homes.get(id)));
    return { rows, streaming: false, tenants: tenantsOf(rows) };
  }
  if ("teams" in audience) return resolveTeams(audience, directory, scope, teamInstall === true);
  if ("groups" in audience)
    return { rows: [], streaming: true, tenants: new Set([audience.tenantId]), cursor: { kind: "groups", group: 0 } };
  return { rows: [], streaming: true, tenants: audience.tenantId === undefined ? undefined : new Set([audience.tenantId]) };
}

/** One person's preferences kept under several of their ids: opted out of what any of them says. */
function mergedPreference(
  found: readonly ({ optedOut: boolean; categories: string[] } | undefined)[],
): { optedOut: boolean; categories: string[] } | undefined {
  const prefs = found.filter((p) => p !== undefined);
  if (prefs.length === 0) return undefined;
  return { optedOut: prefs.some((p) => p.optedOut), categories: [...new Set(prefs.flatMap((p) => p.categories))] };
}

/**
 * A team audience: teams named by their Teams id (19:) as always (a known team's General channel,
 * or its roster); teams named by Entra group id (with tenantId) through the stored aadGroupId.
 * A group-id team Herald knows no active conversation of streams (the expansion installs the app
 * there first) with `teamInstall`, else ends notFound now, saying what to do.
 */
async function resolveTeams(
  audience: Extract<Audience, { teams: string[] }>,
  directory: RecipientDirectory,
  scope: readonly string[] | undefined,
  teamInstall: boolean,
): Promise<Resolution> {
  const tenantId = audience.tenantId;
  const named = audience.teams.filter((t) => tenantId === undefined || !isGroupId(t));
  const groupIds = tenantId === undefined ? [] : audience.teams.filter(isGroupId);
  const homes = await directory.teams(named, scope);
  const byGroup = tenantId !== undefined && groupIds.length > 0 ? await directory.teamsByGroup(groupIds, tenantId, scope) : new Map();
  // Known and installed; a team Herald saw uninstalled is missing (installed again, or notFound).
  const ready = (g: string): TeamHome | undefined => {
    const h = byGroup.get(g.toLowerCase());
    return h?.active ? h : undefined;
  };
  const missing = groupIds.filter((g) => !ready(g));
  const unreachable = teamInstall ? [] : missing.map((g) => uninstalledTeamRow(g, tenantId ?? ""));
  const installing = teamInstall && missing.length > 0;
  const cursorTenants = scope ? { tenants: [...scope] } : {};
  // While group-id teams are being installed, a 19: id Herald does not know waits for them (the
  // expansion's second pass): it may be one of those teams, known once installed. Failing it now
  // took its row key (`channel:`/`team:` + the 19: id) and the team never got its post.
  // The same for a 19: id of a team Herald saw uninstalled and one of the group ids names: it is being installed.
  const installingTeams = new Set(missing.map((g) => byGroup.get(g.toLowerCase())?.teamId).filter((t) => t !== undefined));
  const deferred = (id: string) => installing && (!homes.has(id) || installingTeams.has(id));
  if (audience.deliverTo === "channel") {
    const rows = unique([
      ...named.filter((id) => !deferred(id)).map((id) => channelRow(id, homes.get(id))),
      ...groupIds.flatMap((g) => {
        const h = ready(g);
        return h ? [channelRow(h.teamId, h)] : [];
      }),
      ...unreachable,
    ]);
    const tenants = tenantsOf(rows);
    if (installing && tenantId !== undefined) tenants.add(tenantId);
    const cursor: ExpansionCursor | undefined = installing ? { kind: "teams", team: 0, ...cursorTenants } : undefined;
    return { rows, streaming: installing, tenants, cursor };
  }
  const rows = unique([
    ...named
      .filter((id) => !homes.has(id) && !deferred(id))
      .map((id) =>
        failedTeamRow(id, "", rowCodes.unknownTeam, "Herald knows no conversation of this team; install the app in the team first."),
      ),
    ...unreachable,
  ]);
  const tenants = tenantsOf(rows);
  for (const home of homes.values()) tenants.add(home.tenantId);
  const anyGroup = groupIds.some((g) => ready(g) !== undefined) || installing;
  if (anyGroup && tenantId !== undefined) tenants.add(tenantId);
  // The roster expansion looks the teams up again: it keeps to the same tenants.
  const cursor: ExpansionCursor | undefined = scope ? { kind: "members", team: 0, tenants: [...scope] } : undefined;
  return { rows, streaming: homes.size > 0 || anyGroup, tenants, cursor };
}

/** The rows without a recipient named twice (a team by its 19: id and by its group id). */
function unique(rows: NewDelivery[]): NewDelivery[] {
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r.recipientKey) && seen.add(r.recipientKey) !== undefined);
}

/** The known team members among `users` (any letter case of an Entra object id), keyed as given. */
async function knownMembers(
  directory: RecipientDirectory,
  users: readonly string[],
  tenantId: string,
): Promise<Map<string, KnownTeamMember>> {
  const out = new Map<string, KnownTeamMember>();
  if (users.length === 0 || !directory.teamMembers) return out;
  const found = await directory.teamMembers(users.flatMap(lookupForms), tenantId);
  for (const u of users) {
    const m = lookupForms(u)
      .map((f) => found.get(f))
      .find((x) => x !== undefined);
    if (m) out.set(u, m);
  }
  return out;
}

function tenantsOf(rows: readonly NewDelivery[]): Set<string> {
  const out = new Set<string>();
  for (const r of rows) if (r.tenantId) out.add(r.tenantId);
  return out;
}
