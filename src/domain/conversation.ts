/**
 * A conversation Herald can message: the durable form of a Bot Framework conversation
 * reference plus what Teams told us about it (who, where, installed by whom, status).
 * Plain data; every store returns and accepts exactly this shape.
 */

/** Teams' conversation types. `personal` is a 1:1 chat between one user and the bot. */
export type ConversationKind = "personal" | "groupChat" | "channel";
export const conversationKinds: readonly ConversationKind[] = ["personal", "groupChat", "channel"];

/**
 * `active`: Herald may send. `uninstalled`: the app was removed (installationUpdate remove,
 * bot removed from the roster, or Teams answered 403/404 for it). `blocked`: the user blocked the
 * bot (403 MessageWritesBlocked / ConversationBlockedByUser). `deleted`: the channel or team was
 * deleted in Teams (channelDeleted / teamDeleted; `channelRestored` / `teamRestored` revive it).
 */
export type ConversationStatus = "active" | "uninstalled" | "blocked" | "deleted";
export const conversationStatuses: readonly ConversationStatus[] = ["active", "uninstalled", "blocked", "deleted"];

/** A Teams account: `id` is the Teams form (`29:...` users, `28:...` bots). */
export interface Account {
  id: string;
  name?: string | undefined;
  /** Entra (Azure AD) object id, when Teams sent it. */
  aadObjectId?: string | undefined;
}

export interface TeamInfo {
  id: string;
  name?: string | undefined;
  /** The Entra group id of the team (Graph's team id). */
  aadGroupId?: string | undefined;
}

export interface ChannelInfo {
  id: string;
  name?: string | undefined;
}

export interface ConversationRecord {
  /** Teams conversation id (`a:...` personal, `19:...@thread.v2` group chat, `19:...@thread.tacv2` channel). */
  id: string;
  kind: ConversationKind;
  tenantId: string;
  /** Where the Connector for this conversation lives; refreshed on every inbound activity. */
  serviceUrl: string;
  /** Bot Framework channel id, `msteams` for Teams. */
  channelId: string;
  /** The bot as Teams addresses it (`28:<appId>`). */
  bot: Account;
  /** The user of a personal chat. */
  user?: Account | undefined;
  team?: TeamInfo | undefined;
  channel?: ChannelInfo | undefined;
  locale?: string | undefined;
  /** IANA time zone (`localTimezone`, else the clientInfo entity's `timezone`). */
  timezone?: string | undefined;
  installedBy?: Account | undefined;
  /** ISO 8601. */
  installedAt?: string | undefined;
  /** ISO 8601: the last inbound activity for this conversation. */
  lastActivityAt: string;
  status: ConversationStatus;
  /** The Teams code or event that set `status` (e.g. `MessageWritesBlocked`, `installationUpdate:remove`). */
  statusCode?: string | undefined;
  statusChangedAt?: string | undefined;
  /** The team is archived (teamArchived; teamUnarchived clears it). */
  archived: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A user's notification preference, keyed by tenant and Teams user id. */
export interface Preference {
  tenantId: string;
  userId: string;
  optedOut: boolean;
  /** Categories the user opted out of (empty = none). */
  optedOutCategories: string[];
  updatedAt: string;
}
