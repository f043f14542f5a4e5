import { randomBytes, randomUUID } from "node:crypto";
import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import { type Clock, isoNow } from "../clock.js";
import { errorResponse, readJson } from "../http/errors.js";
import type { ApiKeyRecord, ApiKeyStore, AuditLog } from "../store/ports.js";
import { type ApiEnv, type ApiKeyVerifier, hashKey, type Principal, requireScope, type Scope } from "./auth.js";
import { bodyError, queryError } from "./validation.js";

export const scopes = ["send", "read", "admin"] as const satisfies readonly Scope[];

export const createKeySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100).describe("What the key is for (shown in lists and the audit log)."),
    scopes: z.array(z.enum(scopes)).min(1).max(3).describe("What the key may do: send notifications, read, or administer (keys, audit)."),
    tenants: z
      .array(z.string().min(1).max(200))
      .min(1)
      .max(1000)
      .optional()
      .describe("Limit the key to these tenants; omitted = every tenant."),
  })
  .meta({ example: { name: "hr-system", scopes: ["send", "read"], tenants: ["72f988bf-86f1-41af-91ab-2d7cd011db47"] } });

/** What the API shows of a key: never its secret or hash. */
export function keyView(k: ApiKeyRecord) {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    tenants: k.tenants ?? null,
    createdAt: k.createdAt,
    createdBy: k.createdBy,
    revokedAt: k.revokedAt ?? null,
  };
}

/** Keys created through the API: looked up by the SHA-256 of the presented key (an index hit, not a scan). */
export function storedKeyVerifier(store: ApiKeyStore): ApiKeyVerifier {
  return {
    async verify(presented) {
      const record = await store.findByHash(hashKey(presented).toString("hex"));
      if (!record || record.revokedAt) return undefined;
      return { keyId: record.id, scopes: record.scopes, tenants: record.tenants };
    },
  };
}

/** Audit a write: who (key id), what, on what. */
export function audit(
  log: AuditLog,
  clock: Clock,
  principal: Principal,
  action: string,
  target: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  return log.record({ at: isoNow(clock), actor: principal.keyId, action, target, details });
}

/** `POST /v1/keys`, `GET /v1/keys`, `DELETE /v1/keys/{id}` (admin). The secret is shown once, at creation. */
export function keyRoutes(store: ApiKeyStore, auditLog: AuditLog, keys: ApiKeyVerifier, clock: Clock): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.use("/v1/keys", requireScope(keys, "admin"));
  app.use("/v1/keys/*", requireScope(keys, "admin"));
  app.post("/v1/keys", async (c) => {
    const body = await readJson(c.req.raw, 64 * 1024);
    if (!body.ok) return errorResponse(c, body.status, body.code, body.message);
    const parsed = createKeySchema.safeParse(body.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    const secret = `hk_${randomBytes(24).toString("base64url")}`;
    const record: ApiKeyRecord = {
      id: `key_${randomUUID().replace(/-/g, "").slice(0, 16)}`,
      name: parsed.data.name,
      hash: hashKey(secret).toString("hex"),
      scopes: [...new Set(parsed.data.scopes)],
      tenants: parsed.data.tenants,
      createdAt: isoNow(clock),
      createdBy: c.get("principal").keyId,
      revokedAt: undefined,
    };
    await store.create(record);
    await audit(auditLog, clock, c.get("principal"), "key.create", record.id, {
      name: record.name,
      scopes: record.scopes,
      tenants: record.tenants ?? null,
    });
    return c.json({ ...keyView(record), key: secret }, 201);
  });
  app.get("/v1/keys", async (c) => c.json({ items: (await store.list()).map(keyView) }));
  app.delete("/v1/keys/:id", async (c) => {
    const id = c.req.param("id");
    const revoked = await store.revoke(id, isoNow(clock));
    if (!revoked) return errorResponse(c, 404, "HERALD_E_KEY_NOT_FOUND", `No API key "${id.slice(0, 60)}" (see GET /v1/keys).`);
    await audit(auditLog, clock, c.get("principal"), "key.revoke", id);
    return c.body(null, 204);
  });
  return app;
}

export const auditQuerySchema = z.strictObject({
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** `GET /v1/audit`: every write through the API, newest first (admin). */
export function auditRoutes(auditLog: AuditLog, keys: ApiKeyVerifier): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get("/v1/audit", requireScope(keys, "admin"), async (c) => {
    const q = auditQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    const page = await auditLog.list({ cursor: q.data.cursor, limit: q.data.limit ?? 100 });
    return c.json({ items: page.items, nextCursor: page.nextCursor ?? null });
  });
  return app;
}

/**
 * Audit every successful write (POST, PATCH, PUT, DELETE) under `/v1/` that a route did not audit
 * itself (keys are audited with their details): who, what (method and route), on what (path).
 */
export function auditWrites(auditLog: AuditLog, clock: Clock): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    await next();
    if (c.req.method === "GET" || c.req.method === "HEAD" || c.req.path.startsWith("/v1/keys")) return;
    if (!c.req.path.startsWith("/v1/") || c.res.status >= 300) return;
    const principal = c.get("principal");
    if (!principal) return;
    const target = c.req.path.split("/")[3] ?? c.req.path;
    await audit(auditLog, clock, principal, `${c.req.method} ${c.req.routePath}`, target, { status: c.res.status });
  };
}
