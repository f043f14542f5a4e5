import type { Account, ChannelInfo } from "../domain/conversation.js";
import type { Activity } from "./activity.js";
import { account, conversationKind } from "./reference.js";

/**
 * What an inbound activity means for Herald, decided from the activity alone (pure). The
 * handler turns each event into store writes and replies.
 */
export type InboundEvent =
  | { type: "installed"; by: Account; source: string }
  | { type: "uninstalled"; source: string }
  | { type: "channelCreated" | "channelRenamed" | "channelRestored"; channel: ChannelInfo }
  | { type: "channelDeleted"; channel: ChannelInfo }
  | { type: "teamRenamed"; name: string }
  | { type: "teamDeleted" | "teamRestored" | "teamArchived" | "teamUnarchived" }
  /** People (not the bot) who joined or left a team where the app is installed (issue 15). */
  | { type: "teamMemberAdded" | "teamMemberRemoved"; members: Account[] }
  | { type: "message"; text: string }
  | { type: "cardAction"; verb: string | undefined; data: unknown; automatic: boolean }
  /** An Action.Submit of a card: a message with `value` and no text. */
  | { type: "cardSubmit"; data: unknown }
  | { type: "readReceipt"; lastReadMessageId: string | undefined }
  | { type: "ignored"; reason: string };

const teamEvents = new Set(["teamDeleted", "teamRestored", "teamArchived", "teamUnarchived"]);
const channelEvents = new Set(["channelCreated", "channelRenamed", "channelRestored", "channelDeleted"]);

/** What an activity means (install, uninstall, team/channel change, message, card action...). Pure. */
export function interpret(activity: Activity): InboundEvent {
  switch (activity.type) {
    case "installationUpdate":
      return installation(activity);
    case "conversationUpdate":
      return conversationUpdate(activity);
    case "message": {
      const text = commandText(activity);
      if (text === "" && activity.value !== undefined && activity.value !== null) return { type: "cardSubmit", data: activity.value };
      return { type: "message", text };
    }
    case "invoke":
      if (activity.name === "adaptiveCard/action") {
        const v = (activity.value ?? {}) as { action?: { verb?: unknown; data?: unknown }; trigger?: unknown };
        return {
          type: "cardAction",
          verb: typeof v.action?.verb === "string" ? v.action.verb : undefined,
          data: v.action?.data,
          // "automatic": Teams refreshing a card with a `refresh` clause as a user views it; "manual": a button.
          automatic: v.trigger === "automatic",
        };
      }
      return { type: "ignored", reason: `invoke ${activity.name ?? "(no name)"}` };
    case "event":
      if (activity.name === "application/vnd.microsoft.readReceipt") {
        const v = (activity.value ?? {}) as { lastReadMessageId?: unknown };
        return { type: "readReceipt", lastReadMessageId: typeof v.lastReadMessageId === "string" ? v.lastReadMessageId : undefined };
      }
      return { type: "ignored", reason: `event ${activity.name ?? "(no name)"}` };
    default:
      return { type: "ignored", reason: `activity type ${activity.type}` };
  }
}

function installation(activity: Activity): InboundEvent {
  const action = activity.action ?? "";
  if (action === "add" || action === "add-upgrade")
    return { type: "installed", by: account(activity.from), source: `installationUpdate:${action}` };
  if (action === "remove" || action === "remove-upgrade") return { type: "uninstalled", source: `installationUpdate:${action}` };
  return { type: "ignored", reason: `installationUpdate action ${action || "(none)"}` };
}

function conversationUpdate(activity: Activity): InboundEvent {
  const botId = activity.recipient.id;
  if (activity.membersAdded?.some((m) => m.id === botId)) {
    return { type: "installed", by: account(activity.from), source: "conversationUpdate:botAdded" };
  }
  if (activity.membersRemoved?.some((m) => m.id === botId)) return { type: "uninstalled", source: "conversationUpdate:botRemoved" };
  const eventType = activity.channelData?.eventType ?? "";
  const channel = activity.channelData?.channel;
  if (channelEvents.has(eventType) && channel) {
    return { type: eventType as "channelCreated", channel: { id: channel.id, name: channel.name ?? undefined } };
  }
  // The bot itself joining or leaving was taken above (an install or uninstall): what is left is people.
  if ((eventType === "teamMemberAdded" || eventType === "teamMemberRemoved") && activity.channelData?.team) {
    const listed = (eventType === "teamMemberAdded" ? activity.membersAdded : activity.membersRemoved) ?? [];
    const members = listed.filter((m) => m.id !== botId && !m.id.startsWith("28:")).map(account);
    if (members.length > 0) return { type: eventType, members };
  }
  if (eventType === "teamRenamed") return { type: "teamRenamed", name: activity.channelData?.team?.name ?? "" };
  if (teamEvents.has(eventType)) return { type: eventType as "teamDeleted" };
  return { type: "ignored", reason: `conversationUpdate ${eventType || "(members changed)"}` };
}

/**
 * The user's text without the bot's `<at>` mention (channels and group chats mention the bot
 * to address it), whitespace collapsed and lower-cased for command matching.
 */
export function commandText(activity: Activity): string {
  let text = activity.text ?? "";
  if (conversationKind(activity) !== "personal" || /<at>/i.test(text)) {
    text = text.replace(/<at>[^<]*<\/at>/gi, " ");
  }
  return text
    .replace(/&nbsp;/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .toLowerCase();
}
