import { type Context, Hono } from "hono";
import { csvStream } from "../delivery/csv.js";
import type { Caller, DeliveryEngine } from "../delivery/engine.js";
import { DeliveryError } from "../delivery/errors.js";
import { MessageError } from "../delivery/message/errors.js";
import type { Delivery, DeliveryStatus, Notification, NotificationStatus } from "../delivery/model.js";
import { deliveriesQuerySchema, editRequestSchema, notificationRequestSchema, notificationsQuerySchema } from "../delivery/request.js";
import { cronOf } from "../delivery/schedule/schema.js";
import type { SeriesService } from "../delivery/schedule/series-service.js";
import { errorResponse, readJson } from "../http/errors.js";
import { StoreError } from "../store/errors.js";
import { type ApiEnv, type ApiKeyVerifier, requireScope } from "./auth.js";
import { bodyError, queryError } from "./validation.js";

export { deliveriesQuerySchema, editRequestSchema, notificationRequestSchema, notificationsQuerySchema } from "../delivery/request.js";

/** Largest request body: 10,000 ids and a 28 KB card fit with room to spare. */
export const maxNotificationBodyBytes = 2 * 1024 * 1024;

/**
 * Additions to the notification and delivery views from features with their own store (issue 10:
 * answers, reactions, read receipts). Each is optional; without it the views are as before.
 */
export interface NotificationViewExtras {
  /** `counts.read` and `responses` of one notification. */
  notification?(n: Notification): Promise<{ read?: number; responses?: unknown }>;
  /** `readAt` of the deliveries listed (by seq). */
  readTimes?(notificationId: string, seqs: readonly number[]): Promise<Map<number, string>>;
}

/** `GET /v1/notifications/{id}` (product.md): counts add up to `total`, read from counters kept with the rows. */
export interface NotificationView {
  id: string;
  status: NotificationStatus;
  total: number;
  counts: Notification["counts"];
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
  scheduledAt?: string;
  canceledAt?: string;
  category?: string;
  /** A local-time schedule as given (`{localTime, date?, timeZone?, ifPassed?}`). */
  schedule?: unknown;
  /** The recurring series this notification is a run of, and the run's time. */
  seriesId?: string;
  seriesRunAt?: string;
  /** `urgent` passes quiet hours and the frequency cap. */
  priority?: "urgent" | "normal";
  /** 1, plus one per edit. */
  messageVersion: number;
  /** True while `all` or a team roster is still being expanded (`total` grows meanwhile). */
  expanding: boolean;
  /** Progress of the latest edit (present after an edit). */
  edit?: { pending: number; done: number; failed: number };
  /** Progress of the recall (present after DELETE). */
  recall?: { pending: number; done: number; failed: number };
  /** Answers (polls, acknowledgements) and reactions, when a NotificationViewExtras adds them. */
  responses?: unknown;
}

export function notificationView(n: Notification): NotificationView {
  const view: NotificationView = {
    id: n.id,
    status: n.status,
    total: n.total,
    counts: n.counts,
    createdAt: n.createdAt,
    messageVersion: n.messageVersion,
    expanding: !n.expansionDone,
  };
  if (n.startedAt) view.startedAt = n.startedAt;
  if (n.completedAt) view.completedAt = n.completedAt;
  if (n.scheduledAt) view.scheduledAt = n.scheduledAt;
  if (n.canceledAt) view.canceledAt = n.canceledAt;
  if (n.category) view.category = n.category;
  if (n.schedule !== undefined) view.schedule = n.schedule;
  if (n.seriesId) view.seriesId = n.seriesId;
  if (n.seriesRunAt) view.seriesRunAt = n.seriesRunAt;
  if (n.priority) view.priority = n.priority;
  if (n.messageVersion > 1) view.edit = n.edit;
  if (n.canceledAt) view.recall = n.recall;
  return view;
}

/** One recipient in `/deliveries`. */
export function deliveryView(d: Delivery) {
  return {
    seq: d.seq,
    recipient: d.recipientKey,
    kind: d.kind,
    tenantId: d.tenantId || null,
    conversationId: d.conversationId ?? null,
    targetId: d.targetId ?? null,
    userName: d.userName ?? null,
    status: d.status,
    attempts: d.attempts,
    lastErrorCode: d.lastErrorCode ?? null,
    lastErrorMessage: d.lastErrorMessage ?? null,
    activityId: d.activityId ?? null,
    recall: d.recall ?? null,
    sentAt: d.sentAt ?? null,
    notBefore: d.notBefore ?? null,
    timezone: d.timezone ?? null,
    updatedAt: d.updatedAt,
    readAt: null as string | null,
    heldUntil: d.heldUntil ?? null,
    heldReason: d.heldReason ?? null,
  };
}

const deliveryCsvHeader = [
  "seq",
  "recipient",
  "kind",
  "tenantId",
  "conversationId",
  "targetId",
  "userName",
  "status",
  "attempts",
  "lastErrorCode",
  "lastErrorMessage",
  "activityId",
  "recall",
  "sentAt",
  "notBefore",
  "timezone",
  "updatedAt",
  "readAt",
  "heldUntil",
  "heldReason",
] as const;

/** Name the notification a write touched, for the audit entry (its id and tenant). */
const auditTarget = (c: Context<ApiEnv>, n: Notification): void =>
  c.set("auditTarget", { target: n.id, tenants: n.tenantId ? [n.tenantId] : undefined });

const callerOf = (c: Context<ApiEnv>): Caller => {
  const p = c.get("principal");
  return { keyId: p.keyId, tenants: p.tenants, teams: p.teams, groups: p.groups };
};

/** The answer for the errors the engine and the store throw at a caller. */
export function engineError(c: Context, e: unknown): Response {
  const answer = engineErrorAnswer(e);
  if (answer) return errorResponse(c, answer.status, answer.code, answer.message);
  throw e;
}

/** The error answer the API gives for an engine error (the library throws the same); undefined = a 500. */
export function engineErrorAnswer(e: unknown): { status: 400 | 403 | 404 | 409 | 413 | 503; code: string; message: string } | undefined {
  if (e instanceof DeliveryError) return { status: e.status, code: e.code, message: e.message };
  if (e instanceof MessageError) return { status: e.code === "HERALD_E_MESSAGE_TOO_LARGE" ? 413 : 400, code: e.code, message: e.message };
  if (e instanceof StoreError && (e.code === "HERALD_E_STORE_CURSOR" || e.code === "HERALD_E_STORE_LIMIT")) {
    return { status: 400, code: e.code === "HERALD_E_STORE_CURSOR" ? "HERALD_E_BAD_CURSOR" : "HERALD_E_INVALID_QUERY", message: e.message };
  }
  return undefined;
}

/**
 * `POST/GET /v1/notifications`, `GET/PATCH/DELETE /v1/notifications/{id}`,
 * `GET /v1/notifications/{id}/deliveries?status=&cursor=&limit=&format=csv` (product.md).
 * Sending, editing and recalling need the `send` scope; reading needs `read`.
 */
export function notificationRoutes(
  engine: DeliveryEngine,
  keys: ApiKeyVerifier,
  extras: NotificationViewExtras = {},
  series?: SeriesService,
): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const fullView = async (n: Notification): Promise<NotificationView> => {
    const view = notificationView(n);
    if (!extras.notification) return view;
    const more = await extras.notification(n);
    if (more.read !== undefined) view.counts = { ...view.counts, read: more.read } as NotificationView["counts"];
    if (more.responses !== undefined) view.responses = more.responses;
    return view;
  };
  const withReadAt = async (id: string, items: Delivery[]) => {
    const views = items.map(deliveryView);
    if (!extras.readTimes || items.length === 0) return views;
    const read = await extras.readTimes(
      id,
      items.map((d) => d.seq),
    );
    for (const v of views) v.readAt = read.get(v.seq) ?? null;
    return views;
  };

  app.post("/v1/notifications", requireScope(keys, "send"), async (c) => {
    const body = await readJson(c.req.raw, maxNotificationBodyBytes);
    if (!body.ok) return errorResponse(c, body.status, body.code, body.message);
    const parsed = notificationRequestSchema.safeParse(body.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    try {
      const cron = cronOf(parsed.data.schedule);
      if (cron && series) {
        // A series has no idempotency of its own: accepting the key would let a retry make a second
        // series (every run sent twice) while the key promises "never sends twice".
        if (parsed.data.idempotencyKey !== undefined)
          return errorResponse(
            c,
            400,
            "HERALD_E_INVALID_BODY",
            "idempotencyKey: not accepted with a cron schedule (a retry would make a second series); leave it out, and on a timeout check GET /v1/series before creating the series again.",
          );
        const outside = await engine.audienceOutside(parsed.data.audience, callerOf(c));
        if (outside !== undefined) return errorResponse(c, 403, "HERALD_E_FORBIDDEN", outside);
        // A recurring schedule makes a series (product.md): each run is its own notification.
        const s = await series.create({ ...parsed.data, schedule: cron }, callerOf(c));
        c.header("Location", `/v1/series/${s.id}`);
        c.set("auditTarget", { target: s.id, tenants: s.tenantId ? [s.tenantId] : undefined });
        return c.json({ id: s.id, status: s.state, series: true, nextRunAt: s.nextRunAt ?? null }, 201);
      }
      const { notification, created } = await engine.submit(parsed.data, callerOf(c));
      c.header("Location", `/v1/notifications/${notification.id}`);
      if (!created) c.header("Idempotent-Replayed", "true");
      auditTarget(c, notification);
      return c.json({ id: notification.id, status: notification.status }, 202);
    } catch (e) {
      return engineError(c, e);
    }
  });

  app.get("/v1/notifications", requireScope(keys, "read"), async (c) => {
    const q = notificationsQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    try {
      const page = await engine.list({ status: q.data.status }, { cursor: q.data.cursor, limit: q.data.limit ?? 50 }, callerOf(c));
      return c.json({ items: page.items.map(notificationView), nextCursor: page.nextCursor ?? null });
    } catch (e) {
      return engineError(c, e);
    }
  });

  app.get("/v1/notifications/:id", requireScope(keys, "read"), async (c) => {
    const n = await engine.get(c.req.param("id"), callerOf(c));
    if (!n) return errorResponse(c, 404, "HERALD_E_NOT_FOUND", `No notification ${c.req.param("id")}.`);
    return c.json(await fullView(n));
  });

  app.get("/v1/notifications/:id/deliveries", requireScope(keys, "read"), async (c) => {
    const q = deliveriesQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    const id = c.req.param("id");
    const caller = callerOf(c);
    const status = q.data.status as DeliveryStatus | undefined;
    try {
      if (q.data.format === "csv") {
        // Fail before the download starts when the id or the cursor is wrong (a 400 or 404, not a cut download).
        await engine.deliveries(id, { status }, { cursor: q.data.cursor, limit: 1 }, caller);
        const stream = csvStream(
          deliveryCsvHeader,
          (v: ReturnType<typeof deliveryView>) => deliveryCsvHeader.map((k) => v[k]),
          async (cursor) => {
            const page = await engine.deliveries(id, { status }, { cursor, limit: 1_000 }, caller);
            return { items: await withReadAt(id, page.items), nextCursor: page.nextCursor };
          },
          q.data.cursor,
        );
        return new Response(stream, {
          status: 200,
          headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${id}-deliveries.csv"` },
        });
      }
      const page = await engine.deliveries(id, { status }, { cursor: q.data.cursor, limit: q.data.limit ?? 100 }, caller);
      return c.json({ items: await withReadAt(id, page.items), nextCursor: page.nextCursor ?? null });
    } catch (e) {
      return engineError(c, e);
    }
  });

  app.patch("/v1/notifications/:id", requireScope(keys, "send"), async (c) => {
    const body = await readJson(c.req.raw, maxNotificationBodyBytes);
    if (!body.ok) return errorResponse(c, body.status, body.code, body.message);
    const parsed = editRequestSchema.safeParse(body.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    try {
      const n = await engine.edit(c.req.param("id"), parsed.data.message, callerOf(c));
      auditTarget(c, n);
      return c.json(notificationView(n), 202);
    } catch (e) {
      return engineError(c, e);
    }
  });

  app.delete("/v1/notifications/:id", requireScope(keys, "send"), async (c) => {
    try {
      const n = await engine.recall(c.req.param("id"), callerOf(c));
      auditTarget(c, n);
      // A batch notification: what cannot be taken back (no activity ids) and the operations canceled.
      return c.json(n.batch ? { ...notificationView(n), batch: n.batch } : notificationView(n), 202);
    } catch (e) {
      return engineError(c, e);
    }
  });

  return app;
}
