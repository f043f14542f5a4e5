import type { Org, OrgChannel, OrgChat, OrgTeam } from "../org/model.js";

/**
 * A Connector conversation id resolved against the organisation. Channel threads
 * (`19:...;messageid=N`) resolve to their channel with `thread` set; their limit key is the
 * whole thread id, because Teams limits each thread separately.
 */
export type ConversationRef =
  | { kind: "personal"; id: string; tenant: number; user: number; limitKey: number; thread: undefined }
  | { kind: "channel"; id: string; tenant: number; team: OrgTeam; channel: OrgChannel; limitKey: string; thread: string | undefined }
  | { kind: "chat"; id: string; tenant: number; chat: OrgChat; limitKey: string; thread: undefined };

const MESSAGE_ID = ";messageid=";

export function resolveConversation(org: Org, raw: string): ConversationRef | undefined {
  const cut = raw.indexOf(MESSAGE_ID);
  const base = cut >= 0 ? raw.slice(0, cut) : raw;
  const thread = cut >= 0 ? raw.slice(cut + MESSAGE_ID.length) : undefined;
  if (base.startsWith("a:")) {
    const user = org.personalConversationUser(base);
    if (user < 0) return undefined;
    return { kind: "personal", id: base, tenant: org.tenantOfUser(user), user, limitKey: user, thread: undefined };
  }
  const target = org.threadTarget(base);
  if (!target) return undefined;
  if (target.kind === "chat") {
    return {
      kind: "chat",
      id: target.chat.id,
      tenant: target.chat.tenantIndex,
      chat: target.chat,
      limitKey: target.chat.id,
      thread: undefined,
    };
  }
  const id = target.channel.id;
  return {
    kind: "channel",
    id,
    tenant: target.team.tenantIndex,
    team: target.team,
    channel: target.channel,
    limitKey: thread ? `${id}${MESSAGE_ID}${thread}` : id,
    thread: thread || undefined,
  };
}

/** `19:...@thread.tacv2;messageid=N` for a post N of a channel. */
export function threadId(channelId: string, rootActivityId: string): string {
  return `${channelId}${MESSAGE_ID}${rootActivityId}`;
}
