import { type Context, Hono } from "hono";
import { z } from "zod";
import { audienceOutsideLimit } from "../delivery/audience/reach.js";
import type { Caller } from "../delivery/engine.js";
import { messageSchema } from "../delivery/message/schema.js";
import { type AudienceInput, audienceSchema, toAudience } from "../delivery/request.js";
import { cronScheduleSchema } from "../delivery/schedule/schema.js";
import type { Series, SeriesRun } from "../delivery/schedule/series.js";
import { seriesStates } from "../delivery/schedule/series.js";
import type { SeriesService } from "../delivery/schedule/series-service.js";
import type { RecipientDirectory } from "../delivery/store/port.js";
import { errorResponse, readJson } from "../http/errors.js";
import { type ApiEnv, type ApiKeyVerifier, requireScope } from "./auth.js";
import { engineError, maxNotificationBodyBytes } from "./notifications.js";
import { bodyError, queryError } from "./validation.js";

/** `POST /v1/series` (and a `POST /v1/notifications` whose schedule is a cron). */
export const seriesRequestSchema = z.strictObject({
  audience: audienceSchema,
  message: messageSchema,
  data: z.record(z.string(), z.unknown(), { error: "must be a JSON object" }).optional(),
  category: z.string().min(1).max(100).optional(),
  /** `{cron, timeZone?, localTime?: true, until?}`. */
  schedule: cronScheduleSchema,
});

/** `PATCH /v1/series/{id}`: any of the fields; a new schedule restarts the timing from now. */
export const seriesEditSchema = z
  .strictObject({
    audience: audienceSchema.optional(),
    message: messageSchema.optional(),
    data: z.record(z.string(), z.unknown(), { error: "must be a JSON object" }).optional(),
    category: z.string().min(1).max(100).optional(),
    schedule: cronScheduleSchema.optional(),
  })
  .refine((e) => Object.values(e).some((v) => v !== undefined), {
    error: "name at least one of audience, message, data, category, schedule",
  });

/** `GET /v1/series`. */
export const seriesQuerySchema = z.strictObject({
  state: z.enum(seriesStates as unknown as [string, ...string[]]).optional(),
  cursor: z.string().min(1).max(2_000).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).optional(),
});

/** A series as the API shows it. */
export function seriesView(s: Series, runs?: SeriesRun[]) {
  const view: Record<string, unknown> = {
    id: s.id,
    state: s.state,
    schedule: { cron: s.cron, timeZone: s.timeZone, ...(s.localTime ? { localTime: true } : {}), ...(s.until ? { until: s.until } : {}) },
    audience: s.audience,
    message: s.message,
    runs: s.runs,
    nextRunAt: s.nextRunAt ?? null,
    lastRunAt: s.lastRunAt ?? null,
    lastNotificationId: s.lastNotificationId ?? null,
    createdAt: s.createdAt,
    updatedAt: s.updatedAt,
  };
  if (s.category) view["category"] = s.category;
  if (s.data) view["data"] = s.data;
  if (runs) view["recentRuns"] = runs;
  return view;
}

const callerOf = (c: Context<ApiEnv>): Caller => {
  const p = c.get("principal");
  return { keyId: p.keyId, tenants: p.tenants, teams: p.teams, groups: p.groups };
};

const auditTarget = (c: Context<ApiEnv>, s: Series): void =>
  c.set("auditTarget", { target: s.id, tenants: s.tenantId ? [s.tenantId] : undefined });

/**
 * `POST/GET /v1/series`, `GET/PATCH/DELETE /v1/series/{id}`, `POST /v1/series/{id}/pause|resume`.
 * Writing needs the `send` scope, reading `read`; a tenant-scoped key sees its own and its tenants' series.
 */
export function seriesRoutes(
  series: SeriesService,
  keys: ApiKeyVerifier,
  /** Stored conversations, to place channels in their teams for team guardrails (reach.ts). */
  directory?: Pick<RecipientDirectory, "channels">,
): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  /** Team and group guardrails, checked when the audience is set: each run keeps that audience. */
  const outside = async (c: Context<ApiEnv>, audience: AudienceInput | undefined): Promise<Response | undefined> => {
    if (!directory || audience === undefined) return undefined;
    const p = c.get("principal");
    const why = await audienceOutsideLimit(toAudience(audience), p, directory, p.tenants);
    return why === undefined ? undefined : errorResponse(c, 403, "HERALD_E_FORBIDDEN", why);
  };

  app.post("/v1/series", requireScope(keys, "send"), async (c) => {
    const body = await readJson(c.req.raw, maxNotificationBodyBytes);
    if (!body.ok) return errorResponse(c, body.status, body.code, body.message);
    const parsed = seriesRequestSchema.safeParse(body.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    const refused = await outside(c, parsed.data.audience);
    if (refused) return refused;
    try {
      const s = await series.create(parsed.data, callerOf(c));
      c.header("Location", `/v1/series/${s.id}`);
      auditTarget(c, s);
      return c.json(seriesView(s), 201);
    } catch (e) {
      return engineError(c, e);
    }
  });

  app.get("/v1/series", requireScope(keys, "read"), async (c) => {
    const q = seriesQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    try {
      const page = await series.list(
        { state: q.data.state as Series["state"] | undefined },
        { cursor: q.data.cursor, limit: q.data.limit ?? 50 },
        callerOf(c),
      );
      return c.json({ items: page.items.map((s) => seriesView(s)), nextCursor: page.nextCursor ?? null });
    } catch (e) {
      return engineError(c, e);
    }
  });

  app.get("/v1/series/:id", requireScope(keys, "read"), async (c) => {
    try {
      const caller = callerOf(c);
      const s = await series.get(c.req.param("id"), caller);
      if (!s) return errorResponse(c, 404, "HERALD_E_NOT_FOUND", `No series ${c.req.param("id")}.`);
      return c.json(seriesView(s, await series.runs(s.id, caller)));
    } catch (e) {
      return engineError(c, e);
    }
  });

  app.patch("/v1/series/:id", requireScope(keys, "send"), async (c) => {
    const body = await readJson(c.req.raw, maxNotificationBodyBytes);
    if (!body.ok) return errorResponse(c, body.status, body.code, body.message);
    const parsed = seriesEditSchema.safeParse(body.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    const refused = await outside(c, parsed.data.audience);
    if (refused) return refused;
    try {
      const s = await series.edit(c.req.param("id"), parsed.data, callerOf(c));
      auditTarget(c, s);
      return c.json(seriesView(s));
    } catch (e) {
      return engineError(c, e);
    }
  });

  for (const action of ["pause", "resume"] as const) {
    app.post(`/v1/series/:id/${action}`, requireScope(keys, "send"), async (c) => {
      try {
        const s = await series[action](c.req.param("id"), callerOf(c));
        auditTarget(c, s);
        return c.json(seriesView(s));
      } catch (e) {
        return engineError(c, e);
      }
    });
  }

  app.delete("/v1/series/:id", requireScope(keys, "send"), async (c) => {
    try {
      const s = await series.cancel(c.req.param("id"), callerOf(c));
      auditTarget(c, s);
      return c.json(seriesView(s));
    } catch (e) {
      return engineError(c, e);
    }
  });

  return app;
}
