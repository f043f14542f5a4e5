import type { TeamsChannelAccount } from "../../connector/client.js";
import { rowCodes } from "../errors.js";
import type { NewDelivery, RecipientUser, RowError } from "../model.js";
import type { StoredRecipient, TeamHome } from "../store/port.js";

/**
 * Recipients become delivery rows: pure functions over what the store and Teams said. A row is
 * born `pending` (to send) or already final when no call to Teams is needed: the user opted out
 * (`optedOut`), the stored conversation is blocked (`blocked`) or uninstalled (`notFound`),
 * or Herald cannot address it (`failed` with a code saying why).
 *
 * Recipient keys make a recipient appear once per notification: `conv:<conversation id>` for
 * stored conversations, `user:<tenant>:<user id>` for users and roster members (the same key
 * whether or not a chat exists yet, so a chat created while a roster streams cannot make a user
 * count twice), `channel:<channel id>`, `team:<team id>` (a team that could not be expanded).
 * A user with a stored chat is keyed by the chat's Teams id whichever of their ids named them;
 * an Entra object id is keyed in lower case (GUIDs ignore case). Two ids of one person Herald
 * cannot link before sending (no stored chat) are caught when their chats are created: the second
 * row to get the same chat ends `canceled` as a duplicate (dispatch/executor.ts, `claimChat`).
 */

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A user id as a key: an Entra object id (a GUID) in lower case, any other id (`29:...`) as it is. */
export function canonicalUserId(id: string): string {
  return GUID.test(id) ? id.toLowerCase() : id;
}

/** The spellings to look a user id up by: as given, and for a GUID also in lower and upper case. */
export function lookupForms(id: string): string[] {
  if (!GUID.test(id)) return [id];
  const lower = id.toLowerCase();
  const upper = id.toUpperCase();
  return [...new Set([id, lower, upper])];
}

/** Whether the user opted out of everything or of this notification's category. */
export function optedOut(
  pref: { optedOut: boolean; categories?: readonly string[]; optedOutCategories?: readonly string[] } | undefined,
  category: string | undefined,
): boolean {
  if (!pref) return false;
  if (pref.optedOut) return true;
  const cats = pref.categories ?? pref.optedOutCategories ?? [];
  // Without regard to case: without HERALD_CATEGORIES any name is accepted, and a `stop News`
  // typed in the chat arrives lower-cased.
  const wanted = category?.toLowerCase();
  return wanted !== undefined && cats.some((c) => c.toLowerCase() === wanted);
}

function userOf(r: StoredRecipient): RecipientUser | undefined {
  if (r.userId === undefined && r.userName === undefined) return undefined;
  return { id: r.userId, name: r.userName, aadObjectId: r.userAadObjectId, locale: r.locale, timezone: r.timezone };
}

/** A row for a stored conversation (`conversations`, `all`, users and members with a chat). */
export function conversationRow(r: StoredRecipient, category: string | undefined, recipientKey = `conv:${r.conversationId}`): NewDelivery {
  const row: NewDelivery = {
    recipientKey,
    kind: "conversation",
    tenantId: r.tenantId,
    conversationId: r.conversationId,
    serviceUrl: r.serviceUrl,
    user: userOf(r),
    status: "pending",
  };
  if (r.kind === "personal" && optedOut(r, category))
    return { ...row, status: "optedOut", errorCode: rowCodes.optedOut, errorMessage: "The user opted out of these notifications." };
  if (r.status === "blocked" && r.retryBlocked) {
    return {
      ...row,
      retryBlocked: true,
      errorCode: rowCodes.blockedRetry,
      errorMessage:
        "The conversation had blocked the bot; it is tried again (HERALD_BLOCKED_RETRY_INTERVAL) as Teams does not say when a user unblocks.",
    };
  }
  if (r.status === "blocked") {
    return {
      ...row,
      status: "blocked",
      errorCode: r.statusCode ?? rowCodes.knownBlocked,
      errorMessage: "The conversation is known to have blocked the bot; Teams was not called.",
    };
  }
  if (r.status === "uninstalled" || r.status === "deleted") {
    return {
      ...row,
      status: "notFound",
      errorCode: r.statusCode ?? rowCodes.knownGone,
      errorMessage: `The conversation is known to be ${r.status}; Teams was not called.`,
    };
  }
  return row;
}

/** A user (Teams or Entra id) as given in `users`, with their stored chat when there is one. */
export function userRow(
  id: string,
  chat: StoredRecipient | undefined,
  tenantId: string | undefined,
  serviceUrl: string | undefined,
  pref: { optedOut: boolean; categories: string[] } | undefined,
  category: string | undefined,
  /** The directory's display name, for a user with no chat. */
  name?: string | undefined,
): NewDelivery {
  if (chat) return conversationRow(chat, category, `user:${chat.tenantId}:${canonicalUserId(chat.userId ?? id)}`);
  const key = `user:${tenantId ?? ""}:${canonicalUserId(id)}`;
  if (tenantId === undefined) {
    return {
      recipientKey: key,
      kind: "user",
      tenantId: "",
      targetId: id,
      status: "failed",
      errorCode: rowCodes.tenantRequired,
      errorMessage: "Herald has no chat with this user and no tenant to create one in; pass audience.tenantId.",
    };
  }
  const row: NewDelivery = {
    recipientKey: key,
    kind: "user",
    tenantId,
    targetId: id,
    serviceUrl,
    user: id.startsWith("29:") ? { id } : { aadObjectId: id, ...(name ? { name } : {}) },
    status: "pending",
  };
  return optedOut(pref, category)
    ? { ...row, status: "optedOut", errorCode: rowCodes.optedOut, errorMessage: "The user opted out of these notifications." }
    : row;
}

/** A member of a team roster (1:1 chat to each; created when missing). */
export function memberRow(
  m: TeamsChannelAccount,
  home: TeamHome,
  chat: StoredRecipient | undefined,
  pref: { optedOut: boolean; categories: string[] } | undefined,
  category: string | undefined,
): NewDelivery {
  const tenantId = (typeof m.tenantId === "string" && m.tenantId) || home.tenantId;
  const user: RecipientUser = { id: m.id, name: m.name, aadObjectId: m.aadObjectId, givenName: m.givenName, surname: m.surname };
  const key = `user:${tenantId}:${m.id}`;
  if (chat)
    return {
      ...conversationRow({ ...chat, userName: chat.userName ?? m.name }, category, key),
      user: { ...user, locale: chat.locale, timezone: chat.timezone },
    };
  const row: NewDelivery = {
    recipientKey: key,
    kind: "user",
    tenantId,
    targetId: m.id,
    serviceUrl: home.serviceUrl,
    user,
    status: "pending",
  };
  return optedOut(pref, category)
    ? { ...row, status: "optedOut", errorCode: rowCodes.optedOut, errorMessage: "The user opted out of these notifications." }
    : row;
}

/** A new thread in a channel (or in a team's General channel, whose id is the team's). */
export function channelRow(channelId: string, home: TeamHome | undefined): NewDelivery {
  const key = `channel:${channelId}`;
  if (!home) {
    return {
      recipientKey: key,
      kind: "channel",
      tenantId: "",
      targetId: channelId,
      status: "failed",
      errorCode: rowCodes.unknownTeam,
      errorMessage: "Herald knows no conversation in this channel's team; install the app in the team first.",
    };
  }
  return {
    recipientKey: key,
    kind: "channel",
    tenantId: home.tenantId,
    targetId: channelId,
    serviceUrl: home.serviceUrl,
    status: "pending",
  };
}

/** A team whose roster cannot be read (unknown to Herald, or Teams refused for good). */
export function failedTeamRow(teamId: string, tenantId: string, code: string, message: string): NewDelivery {
  return {
    recipientKey: `team:${teamId}`,
    kind: "team",
    tenantId,
    targetId: teamId,
    status: "failed",
    errorCode: code,
    errorMessage: message,
  };
}

/**
 * A team named by its Entra group id that Herald cannot reach: not known and not installed
 * (HERALD_AUTO_INSTALL off), or the install refused. Keyed by the group id in lower case.
 */
export function unreachedTeamRow(groupId: string, tenantId: string, status: "failed" | "notFound", error: RowError): NewDelivery {
  return {
    recipientKey: `team:${groupId.toLowerCase()}`,
    kind: "team",
    tenantId,
    targetId: groupId,
    status,
    errorCode: error.code,
    errorMessage: error.message,
  };
}

/** The row of a team named by group id that Herald knows no conversation of, with HERALD_AUTO_INSTALL off. */
export function uninstalledTeamRow(groupId: string, tenantId: string): NewDelivery {
  return unreachedTeamRow(groupId, tenantId, "notFound", {
    code: rowCodes.unknownTeam,
    message: `Herald knows no conversation of team ${groupId} (Entra group id) of tenant ${tenantId}, and HERALD_AUTO_INSTALL is off: add the app to the team in Teams, or set HERALD_AUTO_INSTALL=on (Herald then installs it when a notification names the team, and POST /v1/installations can install it ahead), then send again.`,
  });
}

/** A conversation id Herald does not know. */
export function unknownConversationRow(id: string): NewDelivery {
  return {
    recipientKey: `conv:${id}`,
    kind: "conversation",
    tenantId: "",
    conversationId: id,
    status: "failed",
    errorCode: rowCodes.unknownConversation,
    errorMessage: "No stored conversation has this id; Herald learns conversations when the app is installed or a user writes.",
  };
}
