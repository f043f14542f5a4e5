/**
 * The delivery engine's domain, as plain data: notifications, their per-recipient deliveries,
 * the work items the dispatcher moves, and the outcomes it records. Every store returns and
 * accepts exactly these shapes; nothing here knows SQL or HTTP.
 */

/** `scheduled` (waits for its time), `queued` (accepted), `sending`, `completed`, `canceled` (recalled). */
export type NotificationStatus = "scheduled" | "queued" | "sending" | "completed" | "canceled";

/**
 * Outcome of one recipient. `pending` covers waiting, retrying and in-flight rows; the rest are
 * final. `unknown`: the send was in flight when the process died, or its request was written and
 * then timed out or the connection broke, so whether Teams received it cannot be known (see
 * docs/design/delivery.md).
 */
export type DeliveryStatus = "pending" | "sent" | "failed" | "blocked" | "notFound" | "optedOut" | "canceled" | "unknown";
export const deliveryStatuses: readonly DeliveryStatus[] = [
  "pending",
  "sent",
  "failed",
  "blocked",
  "notFound",
  "optedOut",
  "canceled",
  "unknown",
];

/** Counts per status; they always add up to `total`. */
export type DeliveryCounts = Record<DeliveryStatus, number>;

/** Who a notification goes to: exactly one kind (product.md). */
export type Audience =
  | { conversations: string[] }
  | { users: string[]; tenantId?: string | undefined }
  | { channels: string[] }
  /**
   * Teams by their Teams id (`19:…@thread.tacv2`) or their Entra group id (a GUID, with
   * `tenantId`): a team where the bot is missing is installed first (HERALD_AUTO_INSTALL).
   */
  | { teams: string[]; deliverTo: "channel" | "members"; tenantId?: string | undefined }
  /** Entra groups' transitive members (through Graph), streamed page by page. */
  | { groups: string[]; tenantId: string }
  /** `includeUninstalled`: also the tenant's directory users who never installed the app (through Graph; needs tenantId). */
  | { all: true; tenantId?: string | undefined; includeUninstalled?: true | undefined };

/** What a delivery row targets until its conversation is known. */
export type RecipientKind = "conversation" | "user" | "channel" | "team";

/** The work a delivery row waits for: the first send, an edit (PUT) or a recall (DELETE). */
export type DeliveryOp = "send" | "edit" | "delete";

/** `ready` (claimable at `dueAt`), `claimed` (leased by a worker), `inflight` (a send left or may have left). */
export type QueueState = "ready" | "claimed" | "inflight";

/** Recall progress of one sent copy. */
export type RecallState = "pending" | "done" | "failed";

/** Edit or recall progress of a whole notification. */
export interface OperationProgress {
  pending: number;
  done: number;
  failed: number;
}

/** A notification as stored (the message is kept as the API gave it; see message/schema.ts). */
export interface Notification {
  id: string;
  status: NotificationStatus;
  createdBy: string;
  idempotencyKey?: string | undefined;
  /** SHA-256 of the canonical request: same key with another body is a conflict. */
  requestHash: string;
  /** The one tenant the audience lies in, when there is one (access checks of tenant-scoped keys). */
  tenantId?: string | undefined;
  audience: Audience;
  message: unknown;
  /** 1 at creation; every edit adds one. */
  messageVersion: number;
  /** Extra values for `${...}` templating, bound as `data` (and at the root when not shadowed). */
  data?: Record<string, unknown> | undefined;
  category?: string | undefined;
  /** `urgent` passes quiet hours and the frequency cap (issue 11); undefined = normal. */
  priority?: "urgent" | "normal" | undefined;
  /** The message ends with how to stop it (HERALD_UNSUBSCRIBE_FOOTER, or the request's `footer`). */
  footer?: boolean | undefined;
  createdAt: string;
  scheduledAt?: string | undefined;
  /** A local-time schedule as the request gave it (`{localTime, date?, timeZone?, ifPassed?}`). */
  schedule?: unknown;
  /** The recurring series this notification is a run of, and that run's time (ISO). */
  seriesId?: string | undefined;
  seriesRunAt?: string | undefined;
  startedAt?: string | undefined;
  completedAt?: string | undefined;
  canceledAt?: string | undefined;
  /** All recipients are written (explicit lists: at once; `all` and team rosters: when streaming ends). */
  expansionDone: boolean;
  total: number;
  counts: DeliveryCounts;
  edit: OperationProgress;
  recall: OperationProgress;
  /** Something is left to do (sends, expansion, edits or deletes). */
  active: boolean;
}

/** The per-recipient account, as `/deliveries` shows it. */
export interface Delivery {
  notificationId: string;
  seq: number;
  recipientKey: string;
  kind: RecipientKind;
  tenantId: string;
  conversationId?: string | undefined;
  /** The user (Teams id or Entra id) or channel the row was created for. */
  targetId?: string | undefined;
  userName?: string | undefined;
  status: DeliveryStatus;
  attempts: number;
  lastErrorCode?: string | undefined;
  lastErrorMessage?: string | undefined;
  activityId?: string | undefined;
  appliedVersion?: number | undefined;
  recall?: RecallState | undefined;
  sentAt?: string | undefined;
  /** The instant the row may first be sent (ISO; its recipient's local time for a local-time schedule). */
  notBefore?: string | undefined;
  /** The IANA time zone the row was placed in (the recipient's own when Teams reported one). */
  timezone?: string | undefined;
  updatedAt: string;
  /** The row was held (quiet hours, working days, frequency cap) until this time (ISO 8601). */
  heldUntil?: string | undefined;
  /** `quietHours`, `workingDays` or `frequencyCap`. */
  heldReason?: string | undefined;
}

/** A recipient the expansion found, before it has a row. */
export interface NewDelivery {
  recipientKey: string;
  kind: RecipientKind;
  tenantId: string;
  conversationId?: string | undefined;
  serviceUrl?: string | undefined;
  targetId?: string | undefined;
  user?: RecipientUser | undefined;
  /** `pending` to send; a final status when no call to Teams is needed (optedOut, blocked, notFound, failed). */
  status: DeliveryStatus;
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  /** The row tries again a conversation that had blocked the bot (HERALD_BLOCKED_RETRY_INTERVAL). */
  retryBlocked?: boolean | undefined;
  /** Not sent before this instant (ms): a local-time schedule placed the row in its recipient's zone. */
  notBefore?: number | undefined;
  /** The IANA zone the row was placed in. */
  timezone?: string | undefined;
}

/** What templating may bind about a recipient (`${name}`, `${givenName}`, ...). */
export interface RecipientUser {
  id?: string | undefined;
  name?: string | undefined;
  aadObjectId?: string | undefined;
  givenName?: string | undefined;
  surname?: string | undefined;
  locale?: string | undefined;
  /** IANA time zone as Teams reported it (`${timezone}`). */
  timezone?: string | undefined;
}

/** A delivery row identified. */
export interface DeliveryKey {
  notificationId: string;
  seq: number;
}

/** Key of a delivery for Sets and Maps. */
export const deliveryKeyString = (k: DeliveryKey): string => `${k.notificationId}\u0000${k.seq}`;

/**
 * A delivery row as one claim leased it: `lease` is that claim's number (a fencing token). A write
 * about the row (mark, result, release) applies only while the row still holds this lease, so a
 * write replayed after its lease ended (a retry of a write whose commit went through) changes nothing.
 */
export interface LeasedKey extends DeliveryKey {
  lease: number;
}

/** Key of a leased delivery for Sets and Maps: the same row under another lease is another key. */
export const leasedKeyString = (k: LeasedKey): string => `${deliveryKeyString(k)}\u0000${k.lease}`;

/** The key and lease of a job, without the rest (what marks and results carry). */
export const leasedKey = (j: LeasedKey): LeasedKey => ({ notificationId: j.notificationId, seq: j.seq, lease: j.lease });

/** A claimed row: everything needed to do its work without another read. */
export interface Job extends LeasedKey {
  op: DeliveryOp;
  kind: RecipientKind;
  tenantId: string;
  conversationId?: string | undefined;
  serviceUrl?: string | undefined;
  targetId?: string | undefined;
  user?: RecipientUser | undefined;
  attempts: number;
  firstAttemptAt?: number | undefined;
  activityId?: string | undefined;
  /** Tries again a conversation that had blocked the bot: sent, the conversation is active again. */
  retryBlocked?: boolean | undefined;
}

/** The error kept on a row: a stable code (`403/MessageWritesBlocked`, `network/timeout`, `HERALD_E_...`) and words. */
export interface RowError {
  code: string;
  message: string;
}

/**
 * What happened to a job, as the dispatcher reports it to the store. `attempts` is the row's
 * attempt count after this attempt. `conversationId`/`serviceUrl` carry a chat created on the way.
 */
export type JobResult =
  | (LeasedKey & {
      kind: "sent";
      attempts: number;
      activityId: string | undefined;
      version: number;
      conversationId?: string | undefined;
      serviceUrl?: string | undefined;
    })
  | (LeasedKey & {
      kind: "retry";
      op: DeliveryOp;
      attempts: number;
      firstAttemptAt: number;
      dueAt: number;
      error: RowError;
      /** The request may have reached Teams (a send retried under `resend`): after a recall the row ends `unknown`, not `canceled`. */
      inDoubt?: boolean | undefined;
      conversationId?: string | undefined;
      serviceUrl?: string | undefined;
    })
  | (LeasedKey & {
      kind: "final";
      /** `unknown`: the request may have reached Teams and was not repeated; `canceled`: a duplicate of another row. */
      status: "failed" | "blocked" | "notFound" | "unknown" | "canceled";
      attempts: number;
      error: RowError;
      conversationId?: string | undefined;
    })
  | (LeasedKey & { kind: "edited"; version: number; attempts: number })
  | (LeasedKey & { kind: "editFailed"; attempts: number; error: RowError })
  | (LeasedKey & { kind: "deleted"; attempts: number })
  | (LeasedKey & { kind: "deleteFailed"; attempts: number; error: RowError })
  /** Not attempted (tenant paused, stopping): back to the pool at `dueAt` (default now), nothing counted. */
  | (LeasedKey & { kind: "release"; dueAt?: number | undefined; conversationId?: string | undefined; serviceUrl?: string | undefined });

/** A page of a cursor-paged listing. */
export interface Page<T> {
  items: T[];
  /** Pass back to get the next page; absent on the last one. */
  nextCursor?: string | undefined;
}

/** A conversation that blocked or uninstalled the bot (the blocked report). */
export interface BlockedEntry {
  conversationId: string;
  tenantId: string;
  kind: string;
  status: "blocked" | "uninstalled";
  /** The Teams code (or event) that set the status. */
  code?: string | undefined;
  at?: string | undefined;
  userId?: string | undefined;
  userName?: string | undefined;
  userAadObjectId?: string | undefined;
  teamName?: string | undefined;
}

/** What a crash recovery pass did. */
export interface RecoveryResult {
  /** Claimed rows returned to the pool. */
  released: number;
  /** In-flight sends reported `unknown` (policy `unknown`). */
  unknown: number;
  /** In-flight sends made ready again (policy `resend`), and edits/deletes to redo. */
  requeued: number;
}

/** What happens to a send that was in flight when its process died (HERALD_IN_FLIGHT_POLICY). */
export type InFlightPolicy = "unknown" | "resend";

export const emptyCounts = (): DeliveryCounts => ({
  pending: 0,
  sent: 0,
  failed: 0,
  blocked: 0,
  notFound: 0,
  optedOut: 0,
  canceled: 0,
  unknown: 0,
});

/** `createdBy` of the bot's own messages (welcomes, answers, survey questions): left out of `GET /v1/notifications`. */
export const SYSTEM_CREATOR = "herald:system";
