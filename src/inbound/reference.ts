import type { Account, ConversationKind } from "../domain/conversation.js";
import type { ConversationObservation } from "../store/ports.js";
import type { Activity } from "./activity.js";

/**
 * Build what an inbound activity tells us about its conversation (protocol reference, section 2):
 * roles swapped (the user is `from`, the bot is `recipient`), tenant from channelData first (it
 * is often missing from `conversation.tenantId` in channels), time zone from `localTimezone`
 * else the clientInfo entity. Pure.
 */
export function observe(activity: Activity, at: string): ConversationObservation {
  const kind = conversationKind(activity);
  const cd = activity.channelData;
  const team = cd?.team ? { id: cd.team.id, name: cd.team.name ?? undefined, aadGroupId: cd.team.aadGroupId ?? undefined } : undefined;
  const channelId = kind === "channel" ? channelConversationId(activity) : undefined;
  const channelName = cd?.channel?.id === channelId ? (cd?.channel?.name ?? undefined) : undefined;
  return {
    id: kind === "channel" && channelId ? channelId : activity.conversation.id,
    kind,
    tenantId: tenantOf(activity),
    serviceUrl: activity.serviceUrl,
    channelId: activity.channelId,
    bot: account(activity.recipient),
    user: kind === "personal" ? account(activity.from) : undefined,
    team,
    channel: channelId ? { id: channelId, name: channelName } : undefined,
    locale: activity.locale ?? clientInfo(activity)?.locale,
    timezone: activity.localTimezone ?? activity.localTimeZone ?? clientInfo(activity)?.timezone,
    at,
  };
}

/** personal, groupChat or channel: a team or channel in channelData means channel even without conversationType. */
export function conversationKind(activity: Activity): ConversationKind {
  const t = activity.conversation.conversationType;
  if (t === "channel" || activity.channelData?.team || activity.channelData?.channel) return "channel";
  if (t === "groupChat" || activity.conversation.isGroup) return "groupChat";
  return "personal";
}

/** Tenant id: `channelData.tenant.id`, else `conversation.tenantId`, else empty (emulators). */
export function tenantOf(activity: Activity): string {
  return activity.channelData?.tenant?.id ?? activity.conversation.tenantId ?? "";
}

/**
 * A channel message arrives on the thread (`19:...@thread.tacv2;messageid=N`); the reference
 * Herald keeps is the channel itself, so new posts start new threads.
 */
export function channelConversationId(activity: Activity): string {
  return activity.conversation.id.split(";messageid=")[0] ?? activity.conversation.id;
}

/** A Teams account with null fields dropped. */
export function account(a: { id: string; name?: string | null | undefined; aadObjectId?: string | null | undefined }): Account {
  return { id: a.id, name: a.name ?? undefined, aadObjectId: a.aadObjectId ?? undefined };
}

interface ClientInfo {
  locale?: string | undefined;
  timezone?: string | undefined;
}

function clientInfo(activity: Activity): ClientInfo | undefined {
  const e = activity.entities?.find((x) => x.type === "clientInfo") as Record<string, unknown> | undefined;
  if (!e) return undefined;
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  return { locale: str(e["locale"]), timezone: str(e["timezone"]) };
}
