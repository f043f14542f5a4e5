import { Hono } from "hono";
import { z } from "zod";
import { installOutsideLimit } from "../delivery/audience/reach.js";
import { csvCell } from "../delivery/csv.js";
import type { InstallationJobs, InstallationRequest } from "../delivery/install/jobs.js";
import { errorResponse, readJson } from "../http/errors.js";
import type { InstallationItem, InstallationJob } from "../store/ports.js";
import { type ApiEnv, type ApiKeyVerifier, mayUseTenant, requireScope } from "./auth.js";
import { bodyError, queryError } from "./validation.js";

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The largest request body: 10,000 ids of up to 400 characters, quoted, with room to spare. */
const maxInstallationBodyBytes = 5 * 1024 * 1024;

const ids = (what: string, max: number) =>
  z
    .array(z.string().min(1).max(400))
    .min(1, { error: `must name at least one ${what}` })
    .max(max);

/**
 * `POST /v1/installations`: exactly one of `users` (Entra object ids, UPNs or emails), `groups`,
 * `teams` (Entra group ids of teams), `chats` (group chat ids), `all: true`; and `tenantId`.
 */
export const installationRequestSchema = z
  .strictObject({
    users: ids("user", 10_000).optional(),
    groups: ids("group", 100).optional(),
    // A team is installed by its Entra group id; its Teams id (19:...@thread...) is what people copy.
    teams: ids("team", 1_000)
      .refine((xs) => xs.every((x) => guid.test(x)), {
        error: "each team is its Entra group id (a GUID: the team's groupId in Graph or the Teams admin center), not its 19:… Teams id",
      })
      .optional(),
    chats: ids("chat", 1_000).optional(),
    all: z.literal(true).optional(),
    tenantId: z.string().min(1).max(200),
  })
  .superRefine((a, ctx) => {
    const kinds = (["users", "groups", "teams", "chats", "all"] as const).filter((k) => a[k] !== undefined);
    if (kinds.length !== 1)
      ctx.addIssue({
        code: "custom",
        path: [],
        message: `must name exactly one of users, groups, teams, chats or all (got ${kinds.length === 0 ? "none" : kinds.join(", ")})`,
      });
  });

export const installationItemsQuerySchema = z.strictObject({
  after: z.coerce.number().int().min(-1).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).optional(),
  format: z.enum(["json", "csv"]).optional(),
});

/** `GET /v1/installations`: newest first; a tenant-limited key sees its tenants' jobs. */
export const installationListQuerySchema = z.strictObject({
  tenantId: z.string().min(1).max(200).optional(),
  cursor: z.string().min(1).max(2_000).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).optional(),
});

/** A job as the API shows it. */
export function installationView(j: InstallationJob) {
  return {
    id: j.id,
    status: j.status,
    tenantId: j.tenantId,
    total: j.total,
    counts: j.counts,
    error: j.error ?? null,
    createdAt: j.createdAt,
    completedAt: j.completedAt ?? null,
  };
}

function toCsv(items: readonly InstallationItem[]): string {
  const head = "seq,userId,status,code,message,at";
  return `${[head, ...items.map((i) => [i.seq, i.userId, i.status, i.code, i.message, i.at].map(csvCell).join(","))].join("\r\n")}\r\n`;
}

/**
 * `POST /v1/installations` (admin): install the app for many users ahead of a broadcast →
 * 202 `{id, status, counts}`; `GET /v1/installations?tenantId=&cursor=&limit=` the jobs, newest first; `GET /v1/installations/{id}` its live counts (installed,
 * alreadyInstalled, refused, failed); `GET /v1/installations/{id}/items?after=&limit=&format=csv`
 * the outcome per target (`userId`: the user, or the team's group id or the chat's id). 503 when Herald has no Graph (no credentials) or auto-install is off.
 */
export function installationRoutes(jobs: InstallationJobs | undefined, keys: ApiKeyVerifier): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const unavailable = (c: Parameters<typeof errorResponse>[0]) =>
    errorResponse(
      c,
      503,
      "HERALD_E_GRAPH_UNAVAILABLE",
      "Installing needs Microsoft Graph: give Herald credentials (and HERALD_GRAPH_URL for an emulator) and leave HERALD_AUTO_INSTALL on.",
    );
  const visible = async (principal: Parameters<typeof mayUseTenant>[0], id: string) => {
    const job = await jobs?.get(id);
    return job && mayUseTenant(principal, job.tenantId) ? job : undefined;
  };

  app.post("/v1/installations", requireScope(keys, "admin"), async (c) => {
    // The size limit, content type, nesting and NUL checks of every JSON route (readJson).
    const raw = await readJson(c.req.raw, maxInstallationBodyBytes);
    if (!raw.ok) return errorResponse(c, raw.status, raw.code, raw.message);
    const parsed = installationRequestSchema.safeParse(raw.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    const principal = c.get("principal");
    if (!mayUseTenant(principal, parsed.data.tenantId))
      return errorResponse(c, 403, "HERALD_E_FORBIDDEN", `This API key may not install in tenant ${parsed.data.tenantId}.`);
    // Team and group guardrails, before Graph is needed: a team-limited admin installs (and so
    // welcomes) only within its teams and groups, never tenant-wide.
    const outside = installOutsideLimit(parsed.data, principal);
    if (outside !== undefined) return errorResponse(c, 403, "HERALD_E_FORBIDDEN", outside);
    if (!jobs) return unavailable(c);
    const { tenantId } = parsed.data;
    const d = parsed.data;
    const request: InstallationRequest = d.users
      ? { users: d.users, tenantId }
      : d.groups
        ? { groups: d.groups, tenantId }
        : d.teams
          ? { teams: d.teams, tenantId }
          : d.chats
            ? { chats: d.chats, tenantId }
            : { all: true, tenantId };
    const job = await jobs.start(request, principal.keyId);
    return c.json(installationView(job), 202);
  });

  app.get("/v1/installations", requireScope(keys, "admin"), async (c) => {
    if (!jobs) return unavailable(c);
    const q = installationListQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    const principal = c.get("principal");
    if (q.data.tenantId !== undefined && !mayUseTenant(principal, q.data.tenantId))
      return errorResponse(c, 403, "HERALD_E_FORBIDDEN", `This API key may not read tenant ${q.data.tenantId}'s installations.`);
    const tenants = q.data.tenantId !== undefined ? [q.data.tenantId] : (principal.tenants ?? undefined);
    const page = await jobs.list({ tenants }, { cursor: q.data.cursor, limit: q.data.limit ?? 50 });
    return c.json({ items: page.items.map(installationView), nextCursor: page.nextCursor ?? null });
  });

  app.get("/v1/installations/:id", requireScope(keys, "admin"), async (c) => {
    if (!jobs) return unavailable(c);
    const job = await visible(c.get("principal"), c.req.param("id"));
    if (!job) return errorResponse(c, 404, "HERALD_E_NOT_FOUND", `No installation job ${c.req.param("id")}.`);
    return c.json(installationView(job));
  });

  app.get("/v1/installations/:id/items", requireScope(keys, "admin"), async (c) => {
    if (!jobs) return unavailable(c);
    const q = installationItemsQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    const job = await visible(c.get("principal"), c.req.param("id"));
    if (!job) return errorResponse(c, 404, "HERALD_E_NOT_FOUND", `No installation job ${c.req.param("id")}.`);
    if (q.data.format === "csv") {
      const all: InstallationItem[] = [];
      for (let after = -1; ; ) {
        const page = await jobs.items(job.id, after, 1_000);
        all.push(...page);
        if (page.length < 1_000) break;
        after = page[page.length - 1]!.seq;
      }
      return c.body(toCsv(all), 200, {
        "content-type": "text/csv; charset=utf-8",
        "content-disposition": `attachment; filename="installation-${job.id}.csv"`,
      });
    }
    const items = await jobs.items(job.id, q.data.after ?? -1, q.data.limit ?? 100);
    return c.json({ items, next: items.length > 0 ? items[items.length - 1]!.seq : null });
  });

  return app;
}
