import { type Context, Hono } from "hono";
import { z } from "zod";
import { tenantIdSpellingProblem } from "../delivery/audience/tenant-spelling.js";
import { csvStream } from "../delivery/csv.js";
import type { Preference } from "../domain/conversation.js";
import { errorResponse, readJson } from "../http/errors.js";
import { hhmm, isTimeZone, weekdays } from "../preferences/hours.js";
import type { TenantSettings } from "../preferences/model.js";
import { type PreferenceService, UnknownCategoryError } from "../preferences/service.js";
import type { ConversationStore, Page, PreferenceStore } from "../store/ports.js";
import { type ApiEnv, type ApiKeyVerifier, mayUseTenant, requireScope } from "./auth.js";
import { bodyError, queryError } from "./validation.js";

/**
 * Preferences over HTTP (issue 11):
 * - `GET|PUT /v1/users/{userId}/preferences` (`tenantId` in the query, or the PUT body): a
 *   person's opt-out of everything and per category (`read` / `send` scope);
 * - `GET /v1/reports/opt-outs?tenantId=&cursor=&limit=&format=csv`: counts per tenant and
 *   category, and the people who opted out of anything (`read`);
 * - `GET|PUT /v1/tenants/{id}`: the tenant's default time zone, quiet hours and working days (`admin`).
 * Tenant-limited keys act only on their tenants.
 */

const tenantId = z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }).max(200);
const limit = z.coerce.number().int().min(1).max(1_000).optional();

export const userPreferencesQuerySchema = z.strictObject({ tenantId: tenantId.optional() });

/** `PUT /v1/users/{userId}/preferences`. */
export const userPreferencesBodySchema = z
  .strictObject({
    tenantId: tenantId.optional(),
    /** Opted out of every notification. */
    optedOut: z.boolean({ error: "must be true or false" }).optional(),
    /** Category → true (receive) or false (opted out); categories not named keep their value. */
    categories: z
      .record(z.string().min(1).max(100), z.boolean({ error: "must be true (receive) or false (opted out)" }), {
        error: "must be an object of category: true|false",
      })
      .optional(),
  })
  .refine((b) => b.optedOut !== undefined || b.categories !== undefined, { message: "give optedOut, categories or both", path: [] });

export const optOutsQuerySchema = z.strictObject({
  tenantId: tenantId.optional(),
  cursor: z.string().min(1).max(2_000).optional(),
  limit,
  format: z.enum(["json", "csv"]).optional(),
});

const time = z.string({ error: 'must be "HH:MM"' }).regex(hhmm, { error: 'must be "HH:MM" (00:00 to 23:59)' });

/** `PUT /v1/tenants/{id}`: fields given replace the stored ones; `null` clears one. */
export const tenantSettingsBodySchema = z.strictObject({
  timeZone: z
    .string({ error: "must be an IANA time zone such as Europe/London" })
    .refine(isTimeZone, { message: "must be an IANA time zone such as Europe/London or America/New_York" })
    .nullable()
    .optional(),
  quietHours: z
    .strictObject({ start: time, end: time })
    .refine((q) => q.start !== q.end, { message: "start and end must differ", path: ["end"] })
    .nullable()
    .optional(),
  workingDays: z
    .array(z.enum(weekdays, { error: `must be one of ${weekdays.join(", ")}` }), { error: "must be an array of days" })
    .min(1, { error: "must name at least one day (null = every day)" })
    .refine((d) => new Set(d).size === d.length, { message: "names a day twice" })
    .nullable()
    .optional(),
});

/** 400 for a tenant id in the path that is blank or too long. */
const badTenant = (c: Context) =>
  errorResponse(
    c,
    400,
    "HERALD_E_INVALID_INPUT",
    "The tenant id in the path must be 1 to 200 characters and not blank (a Microsoft Entra tenant id).",
  );

export function tenantSettingsView(tenantId: string, s: TenantSettings | undefined) {
  return {
    tenantId,
    timeZone: s?.timeZone ?? null,
    quietHours: s?.quietHours ?? null,
    workingDays: s?.workingDays ?? null,
    updatedAt: s?.updatedAt ?? null,
  };
}

function optOutView(p: Preference) {
  return { tenantId: p.tenantId, userId: p.userId, optedOut: p.optedOut, categories: p.optedOutCategories, updatedAt: p.updatedAt };
}
const optOutHeader = ["tenantId", "userId", "optedOut", "categories", "updatedAt"] as const;

export interface PreferenceRouteDeps {
  service: PreferenceService;
  store: PreferenceStore;
  conversations: Pick<ConversationStore, "findPersonal" | "otherTenantSpelling">;
  keys: ApiKeyVerifier;
  now: () => string;
}

export function preferenceRoutes(deps: PreferenceRouteDeps): Hono<ApiEnv> {
  const { service, store, keys } = deps;
  const app = new Hono<ApiEnv>();
  const forbidden = (c: Context, t: string) => errorResponse(c, 403, "HERALD_E_FORBIDDEN", `This API key may not act on tenant ${t}.`);
  const tenantRequired = (c: Context, where: string) =>
    errorResponse(c, 400, "HERALD_E_TENANT_REQUIRED", `tenantId: required (${where}); preferences are kept per tenant.`);
  /**
   * A write under a tenant id the stored chats keep in another letter case would be kept apart from
   * them and never applied (tenant-spelling.ts): 400 naming the spelling to use. Reads are not
   * refused: what an earlier release stored under that spelling stays readable.
   */
  const misspelling = async (c: Context, field: string, tenant: string) => {
    const problem = await tenantIdSpellingProblem(tenant, deps.conversations, field);
    return problem === undefined ? undefined : errorResponse(c, 400, "HERALD_E_TENANT_SPELLING", problem);
  };
  /** Preferences are kept under the Teams user id; an Entra object id is looked up in the stored chats. */
  const teamsUserId = async (tenant: string, userId: string): Promise<string> => {
    if (userId.startsWith("29:")) return userId;
    return (await deps.conversations.findPersonal(tenant, userId))?.user?.id ?? userId;
  };

  app.get("/v1/users/:userId/preferences", requireScope(keys, "read"), async (c) => {
    const q = userPreferencesQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    const tenant = q.data.tenantId;
    if (tenant === undefined) return tenantRequired(c, "a query parameter");
    if (!mayUseTenant(c.get("principal"), tenant)) return forbidden(c, tenant);
    return c.json(await service.view(tenant, await teamsUserId(tenant, c.req.param("userId"))));
  });

  app.put("/v1/users/:userId/preferences", requireScope(keys, "send"), async (c) => {
    const body = await readJson(c.req.raw, 64 * 1024);
    if (!body.ok) return errorResponse(c, body.status, body.code, body.message);
    const parsed = userPreferencesBodySchema.safeParse(body.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    const tenant = parsed.data.tenantId ?? c.req.query("tenantId");
    if (!tenant) return tenantRequired(c, "in the body or the query");
    if (!mayUseTenant(c.get("principal"), tenant)) return forbidden(c, tenant);
    const misspelled = await misspelling(c, "tenantId", tenant);
    if (misspelled) return misspelled;
    const userId = await teamsUserId(tenant, c.req.param("userId"));
    try {
      const view = await service.change(tenant, userId, { optedOut: parsed.data.optedOut, categories: parsed.data.categories });
      c.set("auditTarget", { target: `${tenant}/${userId}`, tenants: [tenant] });
      return c.json(view);
    } catch (e) {
      if (e instanceof UnknownCategoryError) return errorResponse(c, 400, "HERALD_E_UNKNOWN_CATEGORY", e.message);
      throw e;
    }
  });

  app.get("/v1/reports/opt-outs", requireScope(keys, "read"), async (c) => {
    const q = optOutsQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    const p = c.get("principal");
    if (q.data.tenantId !== undefined && !mayUseTenant(p, q.data.tenantId)) return forbidden(c, q.data.tenantId);
    const tenantIds = q.data.tenantId !== undefined ? [q.data.tenantId] : p.tenants;
    if (q.data.format === "csv") {
      // The first page is read before the 200 goes out: a cursor this server did not issue answers
      // 400 (onError), not a download cut off after its header.
      let first: Page<Preference> | undefined = await store.listOptOuts({ tenantIds }, { cursor: q.data.cursor, limit: 1_000 });
      const stream = csvStream(
        optOutHeader,
        (pref: Preference) => {
          const v = optOutView(pref);
          return [v.tenantId, v.userId, v.optedOut, v.categories.join(";"), v.updatedAt];
        },
        (cursor) => {
          const page = first;
          first = undefined;
          return page ? Promise.resolve(page) : store.listOptOuts({ tenantIds }, { cursor, limit: 1_000 });
        },
        q.data.cursor,
      );
      return new Response(stream, {
        status: 200,
        headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="opt-outs.csv"' },
      });
    }
    const [counts, page] = await Promise.all([
      store.optOutCounts(tenantIds),
      store.listOptOuts({ tenantIds }, { cursor: q.data.cursor, limit: q.data.limit ?? 100 }),
    ]);
    return c.json({ counts, items: page.items.map(optOutView), nextCursor: page.nextCursor ?? null });
  });

  app.get("/v1/tenants/:id", requireScope(keys, "admin"), async (c) => {
    const tenant = c.req.param("id");
    if (!tenantId.safeParse(tenant.trim()).success) return badTenant(c);
    if (!mayUseTenant(c.get("principal"), tenant)) return forbidden(c, tenant);
    return c.json(tenantSettingsView(tenant, await store.tenantSettings(tenant)));
  });

  app.put("/v1/tenants/:id", requireScope(keys, "admin"), async (c) => {
    const tenant = c.req.param("id");
    if (!tenantId.safeParse(tenant.trim()).success) return badTenant(c);
    if (!mayUseTenant(c.get("principal"), tenant)) return forbidden(c, tenant);
    const misspelled = await misspelling(c, "the tenant id in the path", tenant);
    if (misspelled) return misspelled;
    const body = await readJson(c.req.raw, 64 * 1024);
    if (!body.ok) return errorResponse(c, body.status, body.code, body.message);
    const parsed = tenantSettingsBodySchema.safeParse(body.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    const before = await store.tenantSettings(tenant);
    const pick = <T>(given: T | null | undefined, kept: T | undefined): T | undefined =>
      given === undefined ? kept : given === null ? undefined : given;
    const saved = await store.putTenantSettings({
      tenantId: tenant,
      timeZone: pick(parsed.data.timeZone, before?.timeZone),
      quietHours: pick(parsed.data.quietHours, before?.quietHours),
      workingDays: pick(parsed.data.workingDays, before?.workingDays),
      updatedAt: deps.now(),
    });
    c.set("auditTarget", { target: tenant, tenants: [tenant] });
    return c.json(tenantSettingsView(tenant, saved));
  });

  return app;
}
