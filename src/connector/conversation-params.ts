import type { ChannelAccount, ConversationParameters, OutgoingActivity } from "./client.js";

/**
 * The two conversations a bot may create on Teams (protocol reference, section 1). Group chats
 * and channels themselves cannot be created by a bot (Teams answers 400 BadSyntax).
 */

/**
 * A 1:1 chat with a user: `{isGroup:false, members:[{id}], tenantId, channelData:{tenant:{id}}}`.
 * Idempotent on Teams: the same user gives the same `a:...` id. tenantId is required by Teams.
 * @param user the Teams user id (`29:...`) or account
 * @param bot the bot account (`28:<appId>`); optional, Teams knows it from the token
 */
export function personalConversation(p: {
  tenantId: string;
  user: string | ChannelAccount;
  bot?: ChannelAccount | undefined;
}): ConversationParameters {
  const id = typeof p.user === "string" ? p.user : p.user.id;
  const params: ConversationParameters = {
    isGroup: false,
    members: [{ id }],
    tenantId: p.tenantId,
    channelData: { tenant: { id: p.tenantId } },
  };
  if (p.bot) params.bot = p.bot;
  return params;
}

/**
 * A new thread in a channel: `{isGroup:true, channelData:{channel:{id}}, activity}`; answers
 * `{id:"19:...;messageid=N", activityId:"N"}`. The activity (the thread's first message) is required.
 * @param channelId `19:...@thread.tacv2` (the General channel's id is the team's id)
 */
export function channelThread(p: {
  channelId: string;
  activity: OutgoingActivity;
  tenantId?: string | undefined;
  bot?: ChannelAccount | undefined;
}): ConversationParameters {
  const params: ConversationParameters = { isGroup: true, channelData: { channel: { id: p.channelId } }, activity: p.activity };
  if (p.tenantId) {
    params.tenantId = p.tenantId;
    params.channelData = { channel: { id: p.channelId }, tenant: { id: p.tenantId } };
  }
  if (p.bot) params.bot = p.bot;
  return params;
}
