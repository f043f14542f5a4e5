/**
 * The Bot Connector as Herald uses it (protocol reference, section 1): the port the delivery
 * code calls. Every method names the serviceUrl of the conversation (it differs per region and
 * changes over time, so it is never a client-wide setting) and takes an optional AbortSignal.
 *
 * Failures reject with a `ConnectorError` (errors.ts) carrying the raw facts; what to retry is
 * decided elsewhere.
 */

/** A Teams account: `29:...` users, `28:<appId>` bots. */
export interface ChannelAccount {
  id: string;
  name?: string | undefined;
  aadObjectId?: string | undefined;
  role?: string | undefined;
}

/** A member as the Connector returns it (since 2022 without email or UPN). Unknown fields are kept. */
export interface TeamsChannelAccount extends ChannelAccount {
  givenName?: string | undefined;
  surname?: string | undefined;
  email?: string | undefined;
  userPrincipalName?: string | undefined;
  tenantId?: string | undefined;
  userRole?: string | undefined;
  [field: string]: unknown;
}

/** An attachment, e.g. `{contentType: "application/vnd.microsoft.card.adaptive", content: card}`. */
export interface Attachment {
  contentType: string;
  content?: unknown;
  contentUrl?: string | undefined;
  name?: string | undefined;
  [field: string]: unknown;
}

/** An activity Herald sends. Fields not listed pass through unchanged. */
export interface OutgoingActivity {
  type: string;
  id?: string | undefined;
  text?: string | undefined;
  textFormat?: "markdown" | "plain" | "xml" | undefined;
  /** Preview text in the activity feed instead of "sent a card". */
  summary?: string | undefined;
  attachments?: Attachment[] | undefined;
  replyToId?: string | undefined;
  from?: ChannelAccount | undefined;
  conversation?: { id: string; [field: string]: unknown } | undefined;
  /** `{notification: {alert: true}}` raises an activity-feed notification. */
  channelData?: Record<string, unknown> | undefined;
  [field: string]: unknown;
}

/** The body of create conversation. Build it with `personalConversation` / `channelThread` (conversation-params.ts). */
export interface ConversationParameters {
  isGroup?: boolean | undefined;
  bot?: ChannelAccount | undefined;
  members?: ChannelAccount[] | undefined;
  topicName?: string | undefined;
  tenantId?: string | undefined;
  /** Required for a channel thread: the thread's first message. */
  activity?: OutgoingActivity | undefined;
  channelData?: { tenant?: { id: string }; channel?: { id: string }; [field: string]: unknown } | undefined;
  [field: string]: unknown;
}

/** What create conversation answers. */
export interface ConversationResource {
  /** `a:...` for a 1:1 chat; `19:...;messageid=N` for a channel thread (reply there). */
  id: string;
  /** The first message's id (channel threads). */
  activityId?: string | undefined;
  /** Where to send in this conversation, when the Connector says so. */
  serviceUrl?: string | undefined;
}

/** What send, reply and update answer. */
export interface ActivityResource {
  /**
   * The activity's id, needed to update or delete it later. Undefined when the Connector sent
   * none (Teams splits a message with text and an attachment and returns no id).
   */
  id: string | undefined;
}

/** One page of a conversation's members. */
export interface MembersPage {
  members: TeamsChannelAccount[];
  /** Pass to the next call; undefined on the last page. */
  continuationToken: string | undefined;
}

export interface MembersPageRequest {
  /** Teams clamps it to 50..500; undefined lets the server choose. */
  pageSize?: number | undefined;
  continuationToken?: string | undefined;
}

export interface TeamDetails {
  id: string;
  name?: string | undefined;
  /** The Entra group id (Graph's team id). */
  aadGroupId?: string | undefined;
  [field: string]: unknown;
}

/** A channel of a team. The General channel has no name and the team's id as its id. */
export interface TeamChannel {
  id: string;
  name: string | undefined;
}

/** The Bot Connector REST API v3, one method per operation. */
export interface ConnectorClient {
  /** `POST /v3/conversations`: a 1:1 chat (idempotent per user) or a new channel thread. */
  createConversation(serviceUrl: string, params: ConversationParameters, signal?: AbortSignal): Promise<ConversationResource>;
  /** `POST /v3/conversations/{conversationId}/activities`. */
  sendToConversation(
    serviceUrl: string,
    conversationId: string,
    activity: OutgoingActivity,
    signal?: AbortSignal,
  ): Promise<ActivityResource>;
  /** `POST /v3/conversations/{conversationId}/activities/{activityId}`; `replyToId` is set to `activityId` when absent. */
  replyToActivity(
    serviceUrl: string,
    conversationId: string,
    activityId: string,
    activity: OutgoingActivity,
    signal?: AbortSignal,
  ): Promise<ActivityResource>;
  /** `PUT /v3/conversations/{conversationId}/activities/{activityId}`. */
  updateActivity(
    serviceUrl: string,
    conversationId: string,
    activityId: string,
    activity: OutgoingActivity,
    signal?: AbortSignal,
  ): Promise<ActivityResource>;
  /** `DELETE /v3/conversations/{conversationId}/activities/{activityId}`. */
  deleteActivity(serviceUrl: string, conversationId: string, activityId: string, signal?: AbortSignal): Promise<void>;
  /** `GET /v3/conversations/{conversationId}/pagedmembers?pageSize=&continuationToken=`. */
  getPagedMembers(serviceUrl: string, conversationId: string, page?: MembersPageRequest, signal?: AbortSignal): Promise<MembersPage>;
  /** `GET /v3/conversations/{conversationId}/members/{memberId}`. */
  getMember(serviceUrl: string, conversationId: string, memberId: string, signal?: AbortSignal): Promise<TeamsChannelAccount>;
  /** `GET /v3/teams/{teamId}`. */
  getTeamDetails(serviceUrl: string, teamId: string, signal?: AbortSignal): Promise<TeamDetails>;
  /** `GET /v3/teams/{teamId}/conversations`. */
  getTeamChannels(serviceUrl: string, teamId: string, signal?: AbortSignal): Promise<TeamChannel[]>;
}
