/**
 * Errors the delivery engine answers a caller with. `code` is stable (API bodies, tests,
 * runbooks); `status` is the HTTP status the API maps it to; the message says what to do next.
 */
export type DeliveryErrorCode =
  /** No notification with that id (or not visible to this API key). */
  | "HERALD_E_NOT_FOUND"
  /** The idempotency key was used before with a different request. */
  | "HERALD_E_IDEMPOTENCY_CONFLICT"
  /** The notification was recalled: it cannot be edited any more. */
  | "HERALD_E_RECALLED"
  /** The API key may not address that tenant. */
  | "HERALD_E_FORBIDDEN"
  /** A tenant-scoped API key must name the tenant. */
  | "HERALD_E_TENANT_REQUIRED"
  /** A tenant id in another letter case than the one Herald's stored chats have it in (tenantSpellingMessage). */
  | "HERALD_E_TENANT_SPELLING"
  /** The engine is stopping or stopped. */
  | "HERALD_E_ENGINE_STOPPED"
  /** A cron schedule sent to `POST /v1/notifications`'s engine call: a series is created through the series service. */
  | "HERALD_E_SCHEDULE_IS_SERIES"
  /** A series cannot do that in its state (resume a canceled series, edit an ended one). */
  | "HERALD_E_SERIES_STATE"
  /** A survey cannot be edited (it is asked one question at a time in each chat). */
  | "HERALD_E_SURVEY_NOT_EDITABLE"
  /** A category not in HERALD_CATEGORIES (issue 11). */
  | "HERALD_E_UNKNOWN_CATEGORY"
  /** A series' `until` leaves it no run (already past, or before the cron's next occurrence). */
  | "HERALD_E_SCHEDULE_NO_RUN"
  /** Edit or recall of a notification sent through Teams' batch API (no activity ids). */
  | "HERALD_E_BATCH_NO_ACTIVITY_IDS"
  /** `delivery.mode: "batch"` asked of a Herald whose Connector client or store has no batch support. */
  | "HERALD_E_BATCH_UNAVAILABLE";

const statusOf: Record<DeliveryErrorCode, 400 | 403 | 404 | 409 | 503> = {
  HERALD_E_NOT_FOUND: 404,
  HERALD_E_IDEMPOTENCY_CONFLICT: 409,
  HERALD_E_RECALLED: 409,
  HERALD_E_FORBIDDEN: 403,
  HERALD_E_TENANT_REQUIRED: 400,
  HERALD_E_TENANT_SPELLING: 400,
  HERALD_E_ENGINE_STOPPED: 503,
  HERALD_E_SCHEDULE_IS_SERIES: 400,
  HERALD_E_SERIES_STATE: 409,
  HERALD_E_SURVEY_NOT_EDITABLE: 409,
  HERALD_E_UNKNOWN_CATEGORY: 400,
  HERALD_E_SCHEDULE_NO_RUN: 400,
  HERALD_E_BATCH_NO_ACTIVITY_IDS: 409,
  HERALD_E_BATCH_UNAVAILABLE: 400,
};

/**
 * Herald matches tenant ids exactly (stored chats, preferences, tenant settings), and Teams sends
 * them in lower case: a tenant id typed in another letter case names none of the tenant's chats. A
 * preference or tenant setting saved under it was ignored at sending, and `{all, tenantId}` reached
 * nobody. Those requests are refused, naming the spelling to use, rather than accepted and without
 * effect (`otherTenantSpelling`: only when no chat at all is stored under the given spelling).
 */
export function tenantSpellingMessage(field: string, given: string, stored: string): string {
  return `${field}: Herald's chats of this tenant are stored as "${stored}", not "${given}" (tenant ids are matched exactly); send "${stored}".`;
}

export class DeliveryError extends Error {
  override readonly name = "DeliveryError";
  readonly status: 400 | 403 | 404 | 409 | 503;
  constructor(
    readonly code: DeliveryErrorCode,
    message: string,
  ) {
    super(message);
    this.status = statusOf[code];
  }
}

/** Codes kept on delivery rows that Herald decided itself (no call to Teams, or before it). */
export const rowCodes = {
  /** The user opted out of notifications (or of this category). */
  optedOut: "HERALD_OPTED_OUT",
  /** The stored conversation is blocked: Teams was not called. */
  knownBlocked: "HERALD_KNOWN_BLOCKED",
  /** The stored conversation is blocked, but long enough ago to try it again (HERALD_BLOCKED_RETRY_INTERVAL). */
  blockedRetry: "HERALD_BLOCKED_RETRY",
  /** The stored conversation is uninstalled or deleted: Teams was not called. */
  knownGone: "HERALD_KNOWN_UNINSTALLED",
  /** No stored conversation has this id. */
  unknownConversation: "HERALD_E_UNKNOWN_CONVERSATION",
  /** No tenant to create a chat in: pass audience.tenantId. */
  tenantRequired: "HERALD_E_TENANT_REQUIRED",
  /** Herald knows no conversation of this team or channel: install the app in the team first. */
  unknownTeam: "HERALD_E_UNKNOWN_TEAM",
  /** Listing a team's members failed for good. */
  rosterFailed: "HERALD_E_ROSTER",
  /** Rendering the message for this recipient failed. */
  render: "HERALD_E_TEMPLATE",
} as const;
