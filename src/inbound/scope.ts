import type { Activity } from "./activity.js";
import { tenantOf } from "./reference.js";

/** The Bot Framework channel id of Microsoft Teams; the only channel Herald serves. */
export const teamsChannelId = "msteams";

/** Why an authenticated activity is answered but not used: nothing is stored, welcomed or sent. */
export type OutOfScope = "notTeams" | "noTenant";

/**
 * Whether Herald may use an (authenticated, trusted) activity at all. Pure.
 * - Web Chat and Direct Line are on for every Azure Bot, and their tokens pass the same JWT
 *   checks as Teams': anyone with the bot's Web Chat page could otherwise plant a conversation
 *   that broadcasts then reach. Herald's audiences are Teams conversations only.
 * - A Teams conversation always has a tenant (`channelData.tenant.id`, else
 *   `conversation.tenantId`): rate limits, tenant-limited keys and opt-outs are keyed by it, so an
 *   activity without one is not stored either.
 */
export function outOfScope(activity: Activity): OutOfScope | undefined {
  if (activity.channelId !== teamsChannelId) return "notTeams";
  if (tenantOf(activity) === "") return "noTenant";
  return undefined;
}
