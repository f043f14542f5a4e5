import type { Account, ChannelInfo, ConversationRecord, TeamInfo } from "../domain/conversation.js";
import type { ConversationObservation, UpsertResult } from "./ports.js";
import { laterOf } from "./time.js";

/**
 * What `ConversationStore.upsert` decides, as pure functions over plain records, so every back
 * end merges the same way and the rules are tested without a database. Times are canonical
 * (see `canonicalTime`) before they get here.
 */

/** The record the first observation of a conversation creates. New conversations are active unless told otherwise. */
export function createRecord(obs: ConversationObservation): Omit<UpsertResult, "created"> {
  const status = obs.status ?? "active";
  const record = compactRecord({
    id: obs.id,
    kind: obs.kind,
    tenantId: obs.tenantId,
    serviceUrl: obs.serviceUrl,
    channelId: obs.channelId,
    bot: obs.bot,
    user: obs.user,
    team: obs.team,
    channel: obs.channel,
    locale: obs.locale,
    timezone: obs.timezone,
    installedBy: obs.installedBy,
    installedAt: obs.installedBy ? obs.at : undefined,
    lastActivityAt: obs.at,
    status,
    statusCode: obs.statusCode,
    statusChangedAt: obs.at,
    archived: false,
    createdAt: obs.at,
    updatedAt: obs.at,
  });
  return { record, activated: status === "active" };
}

/**
 * Merge an observation into the stored record:
 * - a field the observation leaves undefined keeps its stored value, also inside `user`, `team`,
 *   `channel` and `bot` (an activity without `aadObjectId` does not erase the one we know); an
 *   account with a different `id` replaces the stored one whole;
 * - an empty `tenantId` (emulators, some channel activities) keeps the stored tenant;
 * - `serviceUrl` and `updatedAt` always take the observation's; `lastActivityAt` takes the later
 *   of the two, so an activity processed late never moves it backwards;
 * - a given `status` that differs from the stored one sets `status`, `statusCode` and
 *   `statusChangedAt`; the same status again changes none of them;
 * - `installedBy`/`installedAt` are set when the observation names an installer and the record was
 *   not active before (a reinstall) or has no installer yet; a repeated install while active keeps
 *   the original installer and time;
 * - `activated` is true when the status goes from anything else to `active`.
 */
export function mergeObservation(stored: ConversationRecord, obs: ConversationObservation): Omit<UpsertResult, "created"> {
  const statusChanges = obs.status !== undefined && obs.status !== stored.status;
  const wasActive = stored.status === "active";
  const install = obs.installedBy !== undefined && (!wasActive || stored.installedBy === undefined);
  const record = compactRecord({
    ...stored,
    kind: obs.kind,
    tenantId: obs.tenantId !== "" ? obs.tenantId : stored.tenantId,
    serviceUrl: obs.serviceUrl,
    channelId: obs.channelId,
    bot: mergeAccount(stored.bot, obs.bot),
    user: obs.user ? mergeAccount(stored.user, obs.user) : stored.user,
    team: obs.team ? mergeTeam(stored.team, obs.team) : stored.team,
    channel: obs.channel ? mergeChannel(stored.channel, obs.channel) : stored.channel,
    locale: obs.locale ?? stored.locale,
    timezone: obs.timezone ?? stored.timezone,
    installedBy: install ? obs.installedBy : stored.installedBy,
    installedAt: install ? obs.at : stored.installedAt,
    lastActivityAt: laterOf(stored.lastActivityAt, obs.at),
    status: statusChanges ? (obs.status ?? stored.status) : stored.status,
    statusCode: statusChanges ? obs.statusCode : stored.statusCode,
    statusChangedAt: statusChanges ? obs.at : stored.statusChangedAt,
    updatedAt: obs.at,
  });
  return { record, activated: !wasActive && record.status === "active" };
}

function mergeAccount(stored: Account | undefined, observed: Account): Account {
  if (!stored || stored.id !== observed.id) return observed;
  return { id: observed.id, name: observed.name ?? stored.name, aadObjectId: observed.aadObjectId ?? stored.aadObjectId };
}

function mergeTeam(stored: TeamInfo | undefined, observed: TeamInfo): TeamInfo {
  if (!stored || stored.id !== observed.id) return observed;
  return { id: observed.id, name: observed.name ?? stored.name, aadGroupId: observed.aadGroupId ?? stored.aadGroupId };
}

function mergeChannel(stored: ChannelInfo | undefined, observed: ChannelInfo): ChannelInfo {
  if (!stored || stored.id !== observed.id) return observed;
  return { id: observed.id, name: observed.name ?? stored.name };
}

/**
 * The record in the exact shape every store returns: only the domain's fields, and an optional
 * field that is undefined is absent (not present with the value `undefined`).
 */
export function compactRecord(r: ConversationRecord): ConversationRecord {
  return withoutUndefined({
    id: r.id,
    kind: r.kind,
    tenantId: r.tenantId,
    serviceUrl: r.serviceUrl,
    channelId: r.channelId,
    bot: compactAccount(r.bot),
    user: r.user && compactAccount(r.user),
    team: r.team && withoutUndefined({ id: r.team.id, name: r.team.name, aadGroupId: r.team.aadGroupId }),
    channel: r.channel && withoutUndefined({ id: r.channel.id, name: r.channel.name }),
    locale: r.locale,
    timezone: r.timezone,
    installedBy: r.installedBy && compactAccount(r.installedBy),
    installedAt: r.installedAt,
    lastActivityAt: r.lastActivityAt,
    status: r.status,
    statusCode: r.statusCode,
    statusChangedAt: r.statusChangedAt,
    archived: r.archived,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  });
}

const compactAccount = (a: Account): Account => withoutUndefined({ id: a.id, name: a.name, aadObjectId: a.aadObjectId });

/** A copy of `o` without the keys whose value is `undefined`. */
export function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
