import { type Activity, parseActivity } from "../../src/inbound/activity.js";

/**
 * Activities shaped like the ones Teams sends (protocol reference, section 2), for tests.
 * Every builder takes overrides so a test states only what it is about.
 */
export const APP_ID = "00000000-0000-0000-0000-0000000000b0";
export const BOT = { id: `28:${APP_ID}`, name: "Herald" };
export const TENANT = "tenant-1";
/** Loopback, so a reply that a test does not intercept fails fast instead of leaving the machine. */
export const SERVICE_URL = "http://127.0.0.1:9/teams/";

export interface UserLike {
  id: string;
  name: string;
  aadObjectId: string;
}

export const alice: UserLike = { id: "29:alice", name: "Alice Archer", aadObjectId: "aad-alice" };
export const bob: UserLike = { id: "29:bob", name: "Bob Baker", aadObjectId: "aad-bob" };

type Json = Record<string, unknown>;

function base(conversation: Json, from: UserLike, extra: Json): Json {
  return {
    id: `act-${Math.random().toString(36).slice(2)}`,
    timestamp: new Date().toISOString(),
    serviceUrl: SERVICE_URL,
    channelId: "msteams",
    from,
    recipient: BOT,
    conversation,
    locale: "en-US",
    entities: [{ type: "clientInfo", locale: "en-US", country: "US", platform: "Web", timezone: "Europe/Paris" }],
    ...extra,
  };
}

export function personalConversation(user: UserLike): Json {
  return { id: `a:chat-${user.id.slice(3)}`, conversationType: "personal", tenantId: TENANT };
}

/** `installationUpdate` + `conversationUpdate`, the pair Teams sends when a user installs the app. */
export function personalInstall(user: UserLike, overrides: Json = {}): [Json, Json] {
  const conv = personalConversation(user);
  return [
    base(conv, user, {
      type: "installationUpdate",
      action: "add",
      channelData: { tenant: { id: TENANT }, source: { name: "message" } },
      ...overrides,
    }),
    base(conv, user, {
      type: "conversationUpdate",
      membersAdded: [BOT, { id: user.id, aadObjectId: user.aadObjectId }],
      channelData: { tenant: { id: TENANT } },
      ...overrides,
    }),
  ];
}

export function personalUninstall(user: UserLike): Json {
  return base(personalConversation(user), user, { type: "installationUpdate", action: "remove", channelData: { tenant: { id: TENANT } } });
}

export function personalMessage(user: UserLike, text: string): Json {
  return base(personalConversation(user), user, { type: "message", text, textFormat: "plain", channelData: { tenant: { id: TENANT } } });
}

export const TEAM = { id: "19:team-general@thread.tacv2", name: "Contoso Sales", aadGroupId: "group-sales" };
export const ANNOUNCEMENTS = { id: "19:announcements@thread.tacv2", name: "Announcements" };

function teamChannelData(extra: Json = {}): Json {
  return { tenant: { id: TENANT }, team: { ...TEAM }, ...extra };
}

/** Install in a team, with the installer choosing `selected` as the channel for the bot's posts. */
export function teamInstall(installer: UserLike, selected: { id: string; name?: string } = ANNOUNCEMENTS): [Json, Json] {
  const conv = { id: selected.id, conversationType: "channel", isGroup: true, tenantId: TENANT };
  const settings = { settings: { selectedChannel: { id: selected.id } } };
  return [
    base(conv, installer, {
      type: "installationUpdate",
      action: "add",
      channelData: teamChannelData({ ...settings, channel: { id: selected.id } }),
    }),
    base(conv, installer, {
      type: "conversationUpdate",
      membersAdded: [BOT],
      channelData: teamChannelData({ ...settings, eventType: "teamMemberAdded" }),
    }),
  ];
}

export function teamEvent(installer: UserLike, eventType: string, extra: Json = {}): Json {
  const conv = { id: TEAM.id, conversationType: "channel", isGroup: true, tenantId: TENANT };
  return base(conv, installer, { type: "conversationUpdate", channelData: teamChannelData({ eventType, ...extra }) });
}

export function teamUninstall(installer: UserLike): Json {
  const conv = { id: TEAM.id, conversationType: "channel", isGroup: true, tenantId: TENANT };
  return base(conv, installer, {
    type: "conversationUpdate",
    membersRemoved: [BOT],
    channelData: teamChannelData({ eventType: "teamMemberRemoved" }),
  });
}

export function channelMessage(user: UserLike, text: string, channel = ANNOUNCEMENTS): Json {
  const conv = { id: `${channel.id};messageid=1700000000000`, conversationType: "channel", isGroup: true, tenantId: TENANT };
  return base(conv, user, {
    type: "message",
    text: `<at>${BOT.name}</at> ${text}`,
    entities: [{ type: "mention", mentioned: BOT, text: `<at>${BOT.name}</at>` }],
    channelData: teamChannelData({ channel: { id: channel.id } }),
  });
}

/** An activity body parsed as Herald's bot endpoint parses it (throws what parseActivity refused). */
export function parsedActivity(body: unknown): Activity {
  const r = parseActivity(body);
  if (!r.ok) throw new Error(r.reason);
  return r.activity;
}
