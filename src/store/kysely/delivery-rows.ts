import type { Insertable, Selectable } from "kysely";
import type {
  Audience,
  Delivery,
  DeliveryCounts,
  DeliveryOp,
  DeliveryStatus,
  Job,
  NewDelivery,
  Notification,
  NotificationStatus,
  Page,
  RecallState,
  RecipientKind,
  RecipientUser,
} from "../../delivery/model.js";
import type { Counter, CounterDelta } from "../../delivery/store/plan.js";
import { withoutUndefined } from "../merge.js";
import type { DeliveriesTable, NotificationsTable } from "./delivery-schema.js";

/** Mapping between the delivery engine's records and table rows. Pure. */

export type NotificationRow = Selectable<NotificationsTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;

/** The counter column of each counter. */
export const counterColumn = {
  pending: "pending",
  sent: "sent",
  failed: "failed",
  blocked: "blocked",
  notFound: "not_found",
  optedOut: "opted_out",
  canceled: "canceled",
  unknown: "unknown",
  editPending: "edit_pending",
  editDone: "edit_done",
  editFailed: "edit_failed",
  recallPending: "recall_pending",
  recallDone: "recall_done",
  recallFailed: "recall_failed",
} as const satisfies Record<Counter, keyof NotificationsTable>;

export type CounterColumn = (typeof counterColumn)[Counter];

const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
const iso = (ms: number): string => new Date(ms).toISOString();

export function rowToNotification(row: NotificationRow): Notification {
  const n = (v: number | string) => Number(v);
  const counts: DeliveryCounts = {
    pending: n(row.pending),
    sent: n(row.sent),
    failed: n(row.failed),
    blocked: n(row.blocked),
    notFound: n(row.not_found),
    optedOut: n(row.opted_out),
    canceled: n(row.canceled),
    unknown: n(row.unknown),
  };
  return withoutUndefined<Notification>({
    id: row.id,
    status: row.status as NotificationStatus,
    createdBy: row.created_by,
    idempotencyKey: opt(row.idempotency_key),
    requestHash: row.request_hash,
    tenantId: opt(row.tenant_id),
    audience: JSON.parse(row.audience) as Audience,
    message: JSON.parse(row.message) as unknown,
    messageVersion: Number(row.message_version),
    data: row.data === null ? undefined : (JSON.parse(row.data) as Record<string, unknown>),
    category: opt(row.category),
    priority: (row.priority ?? undefined) as Notification["priority"],
    footer: Number(row.footer) === 1 ? true : undefined,
    createdAt: row.created_at,
    scheduledAt: opt(row.scheduled_at),
    schedule: row.schedule === null || row.schedule === undefined ? undefined : (JSON.parse(row.schedule) as unknown),
    seriesId: opt(row.series_id ?? null),
    seriesRunAt: opt(row.series_run_at ?? null),
    startedAt: opt(row.started_at),
    completedAt: opt(row.completed_at),
    canceledAt: opt(row.canceled_at),
    expansionDone: Number(row.expansion_done) === 1,
    total: n(row.total),
    counts,
    edit: { pending: n(row.edit_pending), done: n(row.edit_done), failed: n(row.edit_failed) },
    recall: { pending: n(row.recall_pending), done: n(row.recall_done), failed: n(row.recall_failed) },
    active: Number(row.active) === 1,
  });
}

export function rowToDelivery(row: DeliveryRow): Delivery {
  return withoutUndefined<Delivery>({
    notificationId: row.notification_id,
    seq: Number(row.seq),
    recipientKey: row.recipient_key,
    kind: row.kind as RecipientKind,
    tenantId: row.tenant_id,
    conversationId: opt(row.conversation_id),
    targetId: opt(row.target_id),
    userName: opt(row.user_name),
    status: row.status as DeliveryStatus,
    attempts: Number(row.attempts),
    lastErrorCode: opt(row.last_error_code),
    lastErrorMessage: opt(row.last_error_message),
    activityId: opt(row.activity_id),
    appliedVersion: row.applied_version === null ? undefined : Number(row.applied_version),
    recall: opt(row.recall_state) as RecallState | undefined,
    sentAt: opt(row.sent_at),
    notBefore: opt(row.not_before ?? null),
    timezone: opt(row.timezone ?? null),
    updatedAt: row.updated_at,
    heldUntil: row.held_until ?? undefined,
    heldReason: row.held_reason ?? undefined,
  });
}

/**
 * The columns a claim reads back: what a Job and the claim-time holds need (and `due_at`, its
 * order), not the whole row. A claim runs for every batch sent; `RETURNING *` of 35 columns
 * built objects nobody read.
 */
export const jobColumns = [
  "notification_id",
  "seq",
  "op",
  "kind",
  "tenant_id",
  "conversation_id",
  "service_url",
  "target_id",
  "user_id",
  "user_name",
  "user_aad_object_id",
  "given_name",
  "surname",
  "locale",
  "timezone",
  "attempts",
  "first_attempt_at",
  "activity_id",
  "retry_blocked",
  "due_at",
  "lease_id",
] as const satisfies readonly (keyof DeliveriesTable)[];

/** A claimed row as the claim reads it (jobColumns). */
export type JobRow = Pick<DeliveryRow, (typeof jobColumns)[number]>;

export function rowToJob(row: JobRow): Job {
  // Assigned key by key rather than through withoutUndefined (Object.entries, filter,
  // fromEntries): a claim maps every row it takes, and those arrays were a visible share of the
  // broadcast's garbage. The same object results: keys whose value is undefined are left out.
  const user: RecipientUser = {};
  if (row.user_id !== null) user.id = row.user_id;
  if (row.user_name !== null) user.name = row.user_name;
  if (row.user_aad_object_id !== null) user.aadObjectId = row.user_aad_object_id;
  if (row.given_name !== null) user.givenName = row.given_name;
  if (row.surname !== null) user.surname = row.surname;
  if (row.locale !== null) user.locale = row.locale;
  if (row.timezone !== null && row.timezone !== undefined) user.timezone = row.timezone;
  const job: Job = {
    notificationId: row.notification_id,
    seq: Number(row.seq),
    op: (row.op ?? "send") as DeliveryOp,
    kind: row.kind as RecipientKind,
    tenantId: row.tenant_id,
    attempts: Number(row.attempts),
    // Null on the batch path's rows, which never write by lease.
    lease: Number(row.lease_id),
  };
  if (row.conversation_id !== null) job.conversationId = row.conversation_id;
  if (row.service_url !== null) job.serviceUrl = row.service_url;
  if (row.target_id !== null) job.targetId = row.target_id;
  if (Object.keys(user).length > 0) job.user = user;
  if (row.first_attempt_at !== null) job.firstAttemptAt = Number(row.first_attempt_at);
  if (row.activity_id !== null) job.activityId = row.activity_id;
  if (Number(row.retry_blocked) === 1) job.retryBlocked = true;
  return job;
}

/** A new row: pending rows are ready at `dueAt`; rows born final wait for nothing. */
export function newDeliveryRow(
  notificationId: string,
  seq: number,
  d: NewDelivery,
  dueAt: number,
  now: number,
): Insertable<DeliveriesTable> {
  const pending = d.status === "pending";
  // A row placed by a local-time schedule waits for its own instant (never earlier than the notification's).
  const due = d.notBefore !== undefined && d.notBefore > dueAt ? d.notBefore : dueAt;
  return {
    notification_id: notificationId,
    seq,
    recipient_key: d.recipientKey,
    kind: d.kind,
    tenant_id: d.tenantId,
    conversation_id: d.conversationId ?? null,
    service_url: d.serviceUrl ?? null,
    target_id: d.targetId ?? null,
    user_id: d.user?.id ?? null,
    user_name: d.user?.name ?? null,
    user_aad_object_id: d.user?.aadObjectId ?? null,
    given_name: d.user?.givenName ?? null,
    surname: d.user?.surname ?? null,
    locale: d.user?.locale ?? null,
    status: d.status,
    op: pending ? "send" : null,
    queue: pending ? "ready" : null,
    due_at: pending ? due : null,
    lease_owner: null,
    attempts: 0,
    first_attempt_at: null,
    activity_id: null,
    applied_version: null,
    recall_state: null,
    last_error_code: d.errorCode ?? null,
    last_error_message: d.errorMessage ?? null,
    sent_at: null,
    updated_at: iso(now),
    retry_blocked: d.retryBlocked ? 1 : null,
    not_before: pending ? iso(due) : null,
    timezone: d.timezone ?? d.user?.timezone ?? null,
  };
}

/** Counts per status of new rows (what their insertion adds to the counters). */
export function countStatuses(statuses: Iterable<string>): CounterDelta {
  const delta: CounterDelta = {};
  for (const s of statuses) {
    const k = s as DeliveryStatus;
    delta[k] = (delta[k] ?? 0) + 1;
  }
  return delta;
}

/** Keyset cursors of the delivery listings: a prefix names the listing, so one is not mistaken for another. */
export function encodeKey(prefix: string, value: string | number): string {
  return Buffer.from(`${prefix}:${value}`, "utf8").toString("base64url");
}

export function decodeKey(prefix: string, cursor: string): string | undefined {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  return text.startsWith(`${prefix}:`) ? text.slice(prefix.length + 1) : undefined;
}

/**
 * A keyset page from `rows` read with `limit + 1` (the extra row only says a next page exists):
 * the first `limit` rows as items, and a cursor (`prefix`) at the last item's key when there is more.
 */
export function keysetPage<R, T>(
  rows: readonly R[],
  limit: number,
  toItem: (row: R) => T,
  prefix: string,
  keyOf: (row: R) => string | number,
): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(toItem), nextCursor: rows.length > limit && last ? encodeKey(prefix, keyOf(last)) : undefined };
}
