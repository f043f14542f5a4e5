import type { OrgChannel, OrgChat, OrgTeam, OrgUser } from "../org/model.js";

/**
 * Activities Teams sends to a bot, built as pure functions of the organisation. Shapes follow
 * captures of real Teams traffic (Microsoft's docs and public projects' fixtures): an install
 * is an `installationUpdate` (action add/remove) plus a `conversationUpdate` (the bot in
 * membersAdded/membersRemoved); channel messages carry an `<at>` mention of the bot.
 */
export interface ActivityEnv {
  serviceUrl: string;
  appId: string;
  botName: string;
  /** Milliseconds since the epoch. */
  now: number;
}

type Json = Record<string, unknown>;

const offsetFormats = new Map<string, Intl.DateTimeFormat>();
/** Offsets only change at DST transitions, so one Intl lookup per zone and hour is enough. */
const offsetCache = new Map<string, { hour: number; offset: string }>();

/** `+02:00`-style offset of a time zone at a moment ('Z' when unknown). */
function zoneOffset(timezone: string, at: Date): string {
  const hour = Math.floor(at.getTime() / 3_600_000);
  const hit = offsetCache.get(timezone);
  if (hit && hit.hour === hour) return hit.offset;
  let fmt = offsetFormats.get(timezone);
  if (!fmt) {
    try {
      fmt = new Intl.DateTimeFormat("en-US", { timeZone: timezone, timeZoneName: "longOffset" });
    } catch {
      return "Z";
    }
    offsetFormats.set(timezone, fmt);
  }
  const name = fmt.formatToParts(at).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const offset = name === "GMT" ? "+00:00" : name.slice(3);
  offsetCache.set(timezone, { hour, offset });
  return offset;
}

/** Local time of a user as Teams writes `localTimestamp`: wall-clock time plus offset. */
export function localTimestamp(timezone: string, now: number): string {
  const at = new Date(now);
  const offset = zoneOffset(timezone, at);
  if (offset === "Z") return at.toISOString();
  const sign = offset.startsWith("-") ? -1 : 1;
  const [h, m] = offset.slice(1).split(":").map(Number);
  const shifted = new Date(now + sign * ((h ?? 0) * 60 + (m ?? 0)) * 60_000);
  return `${shifted.toISOString().slice(0, 23)}${offset}`;
}

export function bot(env: ActivityEnv): Json {
  return { id: `28:${env.appId}`, name: env.botName };
}

function account(u: OrgUser, withName: boolean): Json {
  return withName ? { id: u.id, name: u.name, aadObjectId: u.aadObjectId } : { id: u.id, aadObjectId: u.aadObjectId };
}

function clientInfo(u: OrgUser): Json {
  return { type: "clientInfo", locale: u.locale, country: u.country, platform: "Web", timezone: u.timezone };
}

/** Fields every activity from a user carries. */
function common(env: ActivityEnv, type: string, id: string, from: OrgUser, conversation: Json, channelData: Json, withName: boolean): Json {
  return {
    type,
    id,
    timestamp: new Date(env.now).toISOString(),
    localTimestamp: localTimestamp(from.timezone, env.now),
    localTimezone: from.timezone,
    serviceUrl: env.serviceUrl,
    channelId: "msteams",
    from: account(from, withName),
    conversation,
    recipient: bot(env),
    entities: [clientInfo(from)],
    channelData,
    locale: from.locale,
  };
}

export function personalConversation(u: OrgUser, conversationId: string): Json {
  return { conversationType: "personal", tenantId: u.tenantId, id: conversationId };
}

function channelConversation(tenantId: string, id: string): Json {
  return { isGroup: true, conversationType: "channel", tenantId, id };
}

function chatConversation(chat: OrgChat, tenantId: string): Json {
  const c: Json = { isGroup: true, conversationType: "groupChat", tenantId, id: chat.id };
  if (chat.topic) c["name"] = chat.topic;
  return c;
}

function teamData(team: OrgTeam): Json {
  return { id: team.id, name: team.name, aadGroupId: team.aadGroupId };
}

export type InstallAction = "add" | "remove";

/** The pair Teams sends when the app is installed in (or removed from) a user's personal scope. */
export function personalInstall(
  env: ActivityEnv,
  ids: [string, string],
  user: OrgUser,
  conversationId: string,
  action: InstallAction,
): [Json, Json] {
  const conversation = personalConversation(user, conversationId);
  const tenant = { tenant: { id: user.tenantId } };
  const install = {
    ...common(env, "installationUpdate", ids[0], user, conversation, { ...tenant, source: { name: "message" } }, false),
    action,
  };
  const members = [{ id: user.id, aadObjectId: user.aadObjectId }, { id: `28:${env.appId}` }];
  const update = common(env, "conversationUpdate", ids[1], user, conversation, tenant, false);
  update[action === "add" ? "membersAdded" : "membersRemoved"] = members;
  return [install, update];
}

/** The pair Teams sends when `installer` adds the app to a team (conversation = the selected channel). */
export function teamInstall(
  env: ActivityEnv,
  ids: [string, string],
  team: OrgTeam,
  channel: OrgChannel,
  installer: OrgUser,
  action: InstallAction,
): [Json, Json] {
  const conversation = channelConversation(installer.tenantId, channel.id);
  const tenant = { id: installer.tenantId };
  const installData = {
    settings: { selectedChannel: { id: channel.id } },
    channel: { id: channel.id },
    team: teamData(team),
    tenant,
    source: { name: "message" },
  };
  const install = { ...common(env, "installationUpdate", ids[0], installer, conversation, installData, false), action };
  const updateData = { team: teamData(team), eventType: action === "add" ? "teamMemberAdded" : "teamMemberRemoved", tenant };
  const update = common(env, "conversationUpdate", ids[1], installer, conversation, updateData, false);
  update[action === "add" ? "membersAdded" : "membersRemoved"] = [{ id: `28:${env.appId}` }];
  return [install, update];
}

/**
 * What Teams sends a bot installed in a team when someone joins it (`add`) or leaves it
 * (`remove`) later: a `conversationUpdate` in the team's General channel, `channelData.eventType`
 * `teamMemberAdded` / `teamMemberRemoved`, the person in `membersAdded` / `membersRemoved` (Teams
 * id and Entra object id, no name), `from` the one who made the change.
 */
export function teamMembership(env: ActivityEnv, id: string, team: OrgTeam, by: OrgUser, member: OrgUser, action: InstallAction): Json {
  const general = team.channels[0]?.id ?? team.id;
  const tenant = { id: member.tenantId };
  const data = { team: teamData(team), eventType: action === "add" ? "teamMemberAdded" : "teamMemberRemoved", tenant };
  const update = common(env, "conversationUpdate", id, by, channelConversation(member.tenantId, general), data, false);
  update[action === "add" ? "membersAdded" : "membersRemoved"] = [{ id: member.id, aadObjectId: member.aadObjectId }];
  return update;
}

/** The pair Teams sends when the app is added to (or removed from) a group chat. */
export function chatInstall(
  env: ActivityEnv,
  ids: [string, string],
  chat: OrgChat,
  installer: OrgUser,
  action: InstallAction,
): [Json, Json] {
  const conversation = chatConversation(chat, installer.tenantId);
  const tenant = { tenant: { id: installer.tenantId } };
  const install = {
    ...common(env, "installationUpdate", ids[0], installer, conversation, { ...tenant, source: { name: "message" } }, false),
    action,
  };
  const update = common(env, "conversationUpdate", ids[1], installer, conversation, tenant, false);
  update[action === "add" ? "membersAdded" : "membersRemoved"] = [{ id: `28:${env.appId}` }];
  return [install, update];
}

/** Where a user's activity happens. */
export type Place =
  | { kind: "personal"; conversationId: string }
  | { kind: "channel"; team: OrgTeam; channel: OrgChannel; threadRoot: string }
  | { kind: "chat"; chat: OrgChat };

function placeConversation(place: Place, user: OrgUser): Json {
  if (place.kind === "personal") return personalConversation(user, place.conversationId);
  if (place.kind === "chat") return chatConversation(place.chat, user.tenantId);
  return channelConversation(user.tenantId, `${place.channel.id};messageid=${place.threadRoot}`);
}

function placeData(place: Place, user: OrgUser): Json {
  const tenant = { id: user.tenantId };
  if (place.kind === "channel")
    return {
      teamsChannelId: place.channel.id,
      teamsTeamId: place.team.id,
      channel: { id: place.channel.id, name: place.channel.name },
      team: teamData(place.team),
      tenant,
    };
  return { tenant };
}

/** A user's message; outside 1:1 chats the text starts with an `<at>` mention of the bot, as Teams delivers it. */
export function userMessage(env: ActivityEnv, id: string, user: OrgUser, place: Place, text: string, replyToId?: string): Json {
  const mention = `<at>${env.botName}</at>`;
  const mentioned = place.kind !== "personal";
  const activity = common(env, "message", id, user, placeConversation(place, user), placeData(place, user), true);
  activity["text"] = mentioned ? `${mention} ${text}` : text;
  activity["textFormat"] = "plain";
  activity["attachments"] = [];
  if (mentioned) (activity["entities"] as Json[]).unshift({ type: "mention", mentioned: bot(env), text: mention });
  if (replyToId) activity["replyToId"] = replyToId;
  return activity;
}

export interface CardAction {
  verb?: string;
  data?: unknown;
  /** Id of the Action.Execute in the card. */
  actionId?: string;
}

/** An Adaptive Card `Action.Execute` press (Universal Actions): answered synchronously by the bot. */
export function cardInvoke(env: ActivityEnv, id: string, user: OrgUser, place: Place, replyToId: string, action: CardAction): Json {
  const activity = common(env, "invoke", id, user, placeConversation(place, user), placeData(place, user), true);
  activity["name"] = "adaptiveCard/action";
  activity["replyToId"] = replyToId;
  const act: Json = { type: "Action.Execute", verb: action.verb ?? "", data: action.data ?? {} };
  if (action.actionId) act["id"] = action.actionId;
  activity["value"] = { action: act, trigger: "manual" };
  return activity;
}

/** A read receipt in a 1:1 chat: the user read the bot's messages up to `lastReadMessageId`. */
export function readReceipt(env: ActivityEnv, id: string, user: OrgUser, conversationId: string, lastReadMessageId: string): Json {
  const activity = common(env, "event", id, user, personalConversation(user, conversationId), { tenant: { id: user.tenantId } }, true);
  activity["name"] = "application/vnd.microsoft.readReceipt";
  activity["value"] = { lastReadMessageId };
  return activity;
}

/** Reactions added to (or removed from) a message of the bot: Teams' `messageReaction` activity. */
export function messageReaction(
  env: ActivityEnv,
  id: string,
  user: OrgUser,
  place: Place,
  replyToId: string,
  types: readonly string[],
  action: "add" | "remove",
): Json {
  const activity = common(env, "messageReaction", id, user, placeConversation(place, user), placeData(place, user), true);
  activity["replyToId"] = replyToId;
  activity[action === "add" ? "reactionsAdded" : "reactionsRemoved"] = types.map((type) => ({ type }));
  return activity;
}
