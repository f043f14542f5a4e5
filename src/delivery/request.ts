import { z } from "zod";
import { batchBlockers, deliveryModes } from "./batch/decide.js";
import { messageSchema } from "./message/schema.js";
import { type Audience, deliveryStatuses } from "./model.js";
import { type ScheduleInput, scheduleSchema } from "./schedule/schema.js";

/**
 * The request shapes of `/v1/notifications` and `/v1/reports/blocked` (product.md, "HTTP API"),
 * one zod schema each, exported so the OpenAPI document is generated from the same schemas.
 * Validated once at the boundary; the engine receives the parsed values.
 */

const id = (what: string) =>
  z
    .string({ error: `must be a string (${what})` })
    .min(1, { error: `must not be empty (${what})` })
    .max(400);
const ids = (what: string, max: number) =>
  z
    .array(id(what), { error: `must be an array of ${what}s` })
    .min(1, { error: `must name at least one ${what}` })
    .max(max, { error: `names more than ${max} ${what}s; split the request, or use {all: true}` });
const tenantId = z.string().min(1).max(200);

const GROUP_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A team named by its Entra group id (a GUID) rather than its Teams id (`19:…@thread.tacv2`). */
export const isGroupId = (id: string): boolean => GROUP_ID.test(id);

/** The most ids an explicit audience list may hold (the rows are written before the 202). */
export const maxAudienceIds = 10_000;

/**
 * Exactly one of `conversations`, `users` (+ `tenantId`), `channels`, `teams` (+ `deliverTo`;
 * + `tenantId` when a team is named by its Entra group id), `all: true` (+ `tenantId`).
 */
export const audienceSchema = z
  .strictObject({
    conversations: ids("conversation id", maxAudienceIds).optional(),
    users: ids("user id", maxAudienceIds).optional(),
    channels: ids("channel id", maxAudienceIds).optional(),
    teams: ids("team id", 1_000)
      .meta({
        description:
          "Teams by their Teams id (19:…@thread.tacv2) or their Entra group id (a GUID, with tenantId). A team named by group id where the bot is missing gets the app installed first (HERALD_AUTO_INSTALL=on); with it off, its row ends notFound.",
      })
      .optional(),
    groups: ids("Entra group id", 100).optional(),
    includeUninstalled: z.literal(true, { error: "must be true" }).optional(),
    deliverTo: z
      .enum(["channel", "members"], { error: 'must be "channel" (a post in General) or "members" (a 1:1 chat to every member)' })
      .optional(),
    all: z.literal(true, { error: "must be true" }).optional(),
    tenantId: tenantId.optional(),
  })
  .superRefine((a, ctx) => {
    const kinds = (["conversations", "users", "channels", "teams", "groups", "all"] as const).filter((k) => a[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: `must name exactly one of conversations, users, channels, teams, groups or all (got ${kinds.length === 0 ? "none" : kinds.join(", ")})`,
      });
      return;
    }
    const byGroup = (a.teams ?? []).filter(isGroupId);
    if (a.tenantId !== undefined && a.teams !== undefined && byGroup.length === 0)
      ctx.addIssue({
        code: "custom",
        path: ["tenantId"],
        message:
          "applies to teams only when a team is named by its Entra group id (a GUID); a 19: Teams id carries its tenant, so remove it",
      });
    else if (a.tenantId !== undefined && a.users === undefined && a.all === undefined && a.groups === undefined && a.teams === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["tenantId"],
        message: "applies only to users, groups, teams named by Entra group id and all; remove it",
      });
    }
    if (byGroup.length > 0 && a.tenantId === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["tenantId"],
        message: `is required when teams names a team by its Entra group id (${byGroup[0]}): add the team's tenant id, or name the team by its 19:…@thread.tacv2 Teams id`,
      });
    if (a.groups !== undefined && a.tenantId === undefined)
      ctx.addIssue({ code: "custom", path: ["tenantId"], message: "is required with groups: Entra groups belong to a tenant" });
    if (a.includeUninstalled !== undefined && (a.all === undefined || a.tenantId === undefined))
      ctx.addIssue({
        code: "custom",
        path: ["includeUninstalled"],
        message: "applies only to {all: true, tenantId}: the tenant's directory is read through Graph",
      });
    if (a.teams !== undefined && a.deliverTo === undefined)
      ctx.addIssue({ code: "custom", path: ["deliverTo"], message: 'is required with teams: "channel" or "members"' });
    if (a.deliverTo !== undefined && a.teams === undefined)
      ctx.addIssue({ code: "custom", path: ["deliverTo"], message: "applies only to teams; remove it" });
  });

export type AudienceInput = z.infer<typeof audienceSchema>;

/**
 * `delivery`: `{mode}`. `individual` (the default): one send per recipient, each with its activity id
 * (edit and recall work). `batch`: Teams' batch API, one request per 1,000 recipients; Teams returns
 * no activity ids, so the notification can never be edited or recalled, and per-recipient content
 * (`${...}`), polls, acks, surveys, local-time schedules, groups and includeUninstalled are refused.
 * `auto`: batch when the request allows it and names at least 100 recipients (or all, or team members).
 */
export const deliverySchema = z
  .strictObject({
    mode: z.enum(deliveryModes as unknown as ["auto", "batch", "individual"], { error: 'must be "auto", "batch" or "individual"' }),
  })
  .meta({
    description:
      'How the message goes to Teams. "individual" (default): one send per recipient, with activity ids, so it can be edited and recalled. "batch": Teams\' bulk API (POST /v3/batch/conversation/users|channels), far fewer requests; Teams returns no activity ids, so a batch notification can NOT be edited (PATCH) or recalled (DELETE) once sent (DELETE cancels what is not yet sent, and the operations still running), and personalisation (${...}), poll, ack, survey, localTime schedules, groups and includeUninstalled are refused with 400. "auto": batch when the request allows it and has at least 100 recipients (or all / team members), else individual.',
  });

/** `POST /v1/notifications`. */
export const notificationRequestSchema = z
  .strictObject({
    audience: audienceSchema,
    message: messageSchema,
    /** Values for `${...}` templating besides the recipient's fields. */
    data: z.record(z.string(), z.unknown(), { error: "must be a JSON object" }).optional(),
    /**
     * Send at this time instead of now: an ISO time or `{at}`; `{localTime, date?, timeZone?, ifPassed?}`
     * (each recipient at that time in their own zone); `{cron, timeZone?, localTime?, until?}` (a series).
     */
    schedule: scheduleSchema.optional(),
    /** The same key (per API key) returns the same notification and never sends twice. */
    idempotencyKey: z.string().min(1).max(200).optional(),
    /** Users who opted out of this category are skipped as `optedOut`. */
    category: z.string().min(1).max(100).optional(),
    /** `urgent` passes the tenant's quiet hours and working days and the frequency cap; default `normal`. */
    priority: z.enum(["normal", "urgent"], { error: 'must be "normal" or "urgent"' }).optional(),
    /** End the message with how to stop it (true) or not (false); default HERALD_UNSUBSCRIBE_FOOTER. */
    footer: z.boolean({ error: "must be true or false" }).optional(),
    /** How the message goes to Teams: one send per recipient (default), Teams' batch API, or chosen by size. */
    delivery: deliverySchema.optional(),
  })
  .superRefine((r, ctx) => {
    // A survey is a dialog in a person's 1:1 chat: a channel post has nobody to answer it.
    const a = r.audience;
    if (r.message.survey !== undefined && (a.channels !== undefined || (a.teams !== undefined && a.deliverTo === "channel")))
      ctx.addIssue({
        code: "custom",
        path: ["message", "survey"],
        message: 'is asked in 1:1 chats: send it to users, conversations, teams with deliverTo "members", or all (not to channels)',
      });
    if (r.delivery?.mode === "batch")
      for (const b of batchBlockers(r))
        ctx.addIssue({
          code: "custom",
          path: b.path,
          message: `${b.why}: it cannot go with delivery.mode "batch" (Teams' batch API returns no activity ids and sends one activity to all); use delivery.mode "individual" or "auto"`,
        });
  });

export type NotificationRequest = z.infer<typeof notificationRequestSchema>;

/** `PATCH /v1/notifications/{id}`. */
export const editRequestSchema = z.strictObject({ message: messageSchema });

const limit = z.coerce.number().int().min(1).max(1_000).optional();
const cursor = z.string().min(1).max(2_000).optional();
const format = z.enum(["json", "csv"]).optional();

/** `GET /v1/notifications/{id}/deliveries`. */
export const deliveriesQuerySchema = z.strictObject({
  status: z.enum(deliveryStatuses as unknown as [string, ...string[]]).optional(),
  cursor,
  limit,
  format,
});

/** `GET /v1/notifications`. */
export const notificationsQuerySchema = z.strictObject({
  status: z.enum(["scheduled", "queued", "sending", "completed", "canceled"]).optional(),
  cursor,
  limit,
});

/** `GET /v1/reports/blocked`. */
export const blockedQuerySchema = z.strictObject({ tenantId: tenantId.optional(), cursor, limit, format });

/** The audience as the engine keeps it (one kind, no stray fields). */
export function toAudience(a: AudienceInput): Audience {
  if (a.conversations) return { conversations: a.conversations };
  if (a.users) return a.tenantId === undefined ? { users: a.users } : { users: a.users, tenantId: a.tenantId };
  if (a.channels) return { channels: a.channels };
  if (a.teams)
    return a.tenantId === undefined
      ? { teams: a.teams, deliverTo: a.deliverTo ?? "channel" }
      : { teams: a.teams, deliverTo: a.deliverTo ?? "channel", tenantId: a.tenantId };
  if (a.groups) return { groups: a.groups, tenantId: a.tenantId ?? "" };
  if (a.tenantId === undefined) return { all: true };
  return a.includeUninstalled ? { all: true, tenantId: a.tenantId, includeUninstalled: true } : { all: true, tenantId: a.tenantId };
}

/** The time in ms of an instant schedule (an ISO time or `{at}`), or undefined (none, local time, cron). */
export function scheduleOf(s: ScheduleInput | undefined): number | undefined {
  if (s === undefined) return undefined;
  if (typeof s === "string") return Date.parse(s);
  return "at" in s ? Date.parse(s.at) : undefined;
}
