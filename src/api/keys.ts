import { randomBytes, randomUUID } from "node:crypto";
import { Hono, type MiddlewareHandler } from "hono";
import { z } from "zod";
import { type Clock, isoNow } from "../clock.js";
import { errorResponse, readJson } from "../http/errors.js";
import type { Logger } from "../log.js";
import type { ApiKeyRecord, ApiKeyStore, AuditLog } from "../store/ports.js";
import { type ApiEnv, type ApiKeyVerifier, hashKey, type Principal, requireScope, type Scope } from "./auth.js";
import { bodyError, queryError } from "./validation.js";

export const scopes = ["send", "read", "admin", "draft", "approve"] as const satisfies readonly Scope[];

export const createKeySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(100).describe("What the key is for (shown in lists and the audit log)."),
    scopes: z
      .array(z.enum(scopes))
      .min(1)
      .max(5)
      .describe("What the key may do: send notifications, read, administer (keys, audit), draft for approval, approve drafts."),
    tenants: z
      .array(z.string().min(1).max(200))
      .min(1)
      .max(1000)
      .optional()
      .describe(
        "Limit the key to these tenants; omitted = the creator's tenants (every tenant when the creating key has no tenant limit). A tenant-limited key may only name its own tenants.",
      ),
    teams: z
      .array(z.string().min(1).max(300))
      .max(1000)
      .optional()
      .describe(
        "Limit the audiences the key may reach to these teams (Teams team ids), their channels and their members; with `groups` omitted too = the creator's team/group limit (none when it has none). `all` and `users` audiences are then refused.",
      ),
    groups: z
      .array(z.string().min(1).max(200))
      .max(1000)
      .optional()
      .describe("Limit the audiences the key may reach to these Entra groups (object ids); see `teams`."),
  })
  .meta({ example: { name: "hr-system", scopes: ["send", "read"], tenants: ["72f988bf-86f1-41af-91ab-2d7cd011db47"] } });

/**
 * What the API shows of a key: never its secret or hash. `showKeyId` says whether the reader may
 * see another key's id (a tenant-limited reader sees only ids of keys it can list): `createdBy`
 * is null otherwise.
 */
export function keyView(k: ApiKeyRecord, showKeyId: (id: string) => boolean = () => true) {
  return {
    id: k.id,
    name: k.name,
    scopes: k.scopes,
    tenants: k.tenants ?? null,
    teams: k.teams ?? null,
    groups: k.groups ?? null,
    createdAt: k.createdAt,
    createdBy: showKeyId(k.createdBy) ? k.createdBy : null,
    revokedAt: k.revokedAt ?? null,
  };
}

/** Keys created through the API: looked up by the SHA-256 of the presented key (an index hit, not a scan). */
export function storedKeyVerifier(store: ApiKeyStore): ApiKeyVerifier {
  return {
    async verify(presented) {
      const record = await store.findByHash(hashKey(presented).toString("hex"));
      if (!record || record.revokedAt) return undefined;
      return { keyId: record.id, scopes: record.scopes, tenants: record.tenants, teams: record.teams, groups: record.groups };
    },
  };
}

/**
 * True when a key limited to `tenants` may see or manage something whose tenant set is `of`:
 * an unlimited key sees everything; a limited one only a known set within its own (a key or
 * entry with no tenant limit concerns every tenant, so never).
 */
export function withinTenants(tenants: readonly string[] | undefined, of: readonly string[] | undefined): boolean {
  if (!tenants) return true;
  return of?.every((t) => tenants.includes(t)) ?? false;
}

/**
 * The team/group limit of a new key: what was asked, within the creator's own (a key never
 * reaches further than its creator); nothing asked = the creator's. A string = the refusal.
 */
export function keyReach(
  creator: Pick<Principal, "teams" | "groups">,
  teams: readonly string[] | undefined,
  groups: readonly string[] | undefined,
): { teams?: string[]; groups?: string[] } | string {
  const limited = creator.teams !== undefined || creator.groups !== undefined;
  if (teams === undefined && groups === undefined)
    return limited
      ? { ...(creator.teams ? { teams: [...creator.teams] } : {}), ...(creator.groups ? { groups: [...creator.groups] } : {}) }
      : {};
  if (limited) {
    const team = (teams ?? []).find((t) => !creator.teams?.includes(t));
    if (team !== undefined)
      return `teams: this API key may not grant team "${team.slice(0, 80)}", outside its own teams; name only its teams, or omit teams and groups to inherit them.`;
    const group = (groups ?? []).find((g) => !creator.groups?.includes(g));
    if (group !== undefined)
      return `groups: this API key may not grant group "${group.slice(0, 80)}", outside its own groups; name only its groups, or omit teams and groups to inherit them.`;
  }
  // Naming one list limits the key: the other, omitted, reaches nothing (reach.ts).
  return { ...(teams ? { teams: [...new Set(teams)] } : {}), ...(groups ? { groups: [...new Set(groups)] } : {}) };
}

/**
 * True when a caller limited to teams/groups may manage a key: the key is limited too, and
 * within the caller's teams and groups. An unlimited caller manages every key.
 */
export function withinReach(caller: Pick<Principal, "teams" | "groups">, key: Pick<ApiKeyRecord, "teams" | "groups">): boolean {
  if (caller.teams === undefined && caller.groups === undefined) return true;
  if (key.teams === undefined && key.groups === undefined) return false;
  return (key.teams ?? []).every((t) => caller.teams?.includes(t)) && (key.groups ?? []).every((g) => caller.groups?.includes(g));
}

/**
 * Which key ids a reader limited to `tenants` may see: its own and those of keys it can list
 * (limited to its tenants). Not the bootstrap `env:` key or any wider key. Unlimited readers see all.
 */
export async function visibleKeyIds(store: ApiKeyStore, principal: Principal): Promise<(id: string) => boolean> {
  return principal.tenants ? visibleAmong(await store.list(), principal) : () => true;
}

/** `visibleKeyIds` over keys already read. */
function visibleAmong(keys: readonly ApiKeyRecord[], principal: Principal): (id: string) => boolean {
  const mine = principal.tenants;
  if (!mine) return () => true;
  const ids = new Set(keys.filter((k) => withinTenants(mine, k.tenants)).map((k) => k.id));
  ids.add(principal.keyId);
  return (id) => ids.has(id);
}

/**
 * Keys wider than the key that created them: Herald before issue 9 stored no tenant limit
 * (`tenants: null`, every tenant) for a key created by a tenant-limited admin that omitted
 * `tenants`. The ceiling follows `createdBy` up the chain (each key's tenants within its
 * creator's ceiling; the bootstrap `env:` key and any unlimited key have none). A creator that is
 * not stored (and not `env:`) cannot be judged and is left alone. Revoked keys are skipped.
 */
export function keysWiderThanCreator(keys: readonly ApiKeyRecord[]): { key: ApiKeyRecord; ceiling: readonly string[] }[] {
  const byId = new Map(keys.map((k) => [k.id, k]));
  const memo = new Map<string, readonly string[] | undefined | "unknown">();
  /** The tenants a key may really act in: its own, within its creator's (undefined = every tenant). */
  const ceilingOf = (id: string, seen: Set<string>): readonly string[] | undefined | "unknown" => {
    if (id.startsWith("env:")) return undefined;
    if (memo.has(id)) return memo.get(id);
    const k = byId.get(id);
    if (!k || seen.has(id)) return "unknown";
    seen.add(id);
    const above = ceilingOf(k.createdBy, seen);
    const own = k.tenants;
    const out = above === "unknown" ? own : above === undefined ? own : own === undefined ? above : own.filter((t) => above.includes(t));
    memo.set(id, out);
    return out;
  };
  const out: { key: ApiKeyRecord; ceiling: readonly string[] }[] = [];
  for (const k of keys) {
    if (k.revokedAt) continue;
    const ceiling = ceilingOf(k.createdBy, new Set([k.id]));
    if (ceiling === "unknown" || ceiling === undefined) continue;
    if (!withinTenants(ceiling, k.tenants)) out.push({ key: k, ceiling });
  }
  return out;
}

/** At start-up: one warning per key wider than its creator (see keysWiderThanCreator); nothing is changed. */
export async function warnKeysWiderThanCreator(store: ApiKeyStore, logger: Logger): Promise<number> {
  let found: ReturnType<typeof keysWiderThanCreator>;
  try {
    found = keysWiderThanCreator(await store.list());
  } catch (e) {
    logger.warn({ err: { message: (e as Error).message } }, "could not check the API keys' tenant limits at start-up");
    return 0;
  }
  for (const { key, ceiling } of found) {
    logger.warn(
      { keyId: key.id, name: key.name, tenants: key.tenants ?? null, createdBy: key.createdBy, creatorTenants: ceiling },
      `API key ${key.id} ("${key.name}") reaches ${key.tenants ? `tenants ${key.tenants.join(", ")}` : "every tenant"} but was created by ${key.createdBy}, limited to ${ceiling.join(", ")} (an older Herald stored no limit when a tenant-limited admin omitted tenants). Herald leaves it as it is: revoke it (DELETE /v1/keys/${key.id}) and create a new key with tenants within ${ceiling.join(", ")}, or keep it if the wider reach is intended.`,
    );
  }
  return found.length;
}

/**
 * Audit a write: who (key id), what, on what, and the tenants it concerns: `tenants` when the
 * route knows the target's (a key's limit, a notification's tenant), else the acting key's limit
 * (everything a limited key does stays within it), else none (visible to unlimited keys only).
 */
export function audit(
  log: AuditLog,
  clock: Clock,
  principal: Principal,
  action: string,
  target: string,
  details: Record<string, unknown> = {},
  tenants: readonly string[] | undefined = principal.tenants,
): Promise<void> {
  // A person's stable id is opaque (tenant and object ids): their sign-in name rides along to be read.
  const who = principal.person?.username ? { ...details, person: principal.person.username } : details;
  return log.record({ at: isoNow(clock), actor: principal.keyId, action, target, details: who, tenants });
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
    const principal = c.get("principal");
    // A key never grants more than its creator has: a limited creator's tenants are the ceiling.
    const tenants = parsed.data.tenants ? [...new Set(parsed.data.tenants)] : principal.tenants ? [...principal.tenants] : undefined;
    if (!withinTenants(principal.tenants, tenants)) {
      const outside = (tenants ?? []).filter((t) => !principal.tenants?.includes(t));
      return errorResponse(
        c,
        403,
        "HERALD_E_FORBIDDEN",
        `tenants: this API key is limited to its own tenants and may not grant ${outside
          .slice(0, 3)
          .map((t) => `"${t.slice(0, 60)}"`)
          .join(", ")}; name only tenants of this key, or omit tenants to inherit them.`,
      );
    }
    const reach = keyReach(principal, parsed.data.teams, parsed.data.groups);
    if (typeof reach === "string") return errorResponse(c, 403, "HERALD_E_FORBIDDEN", reach);
    const secret = `hk_${randomBytes(24).toString("base64url")}`;
    const record: ApiKeyRecord = {
      id: `key_${randomUUID().replace(/-/g, "").slice(0, 16)}`,
      name: parsed.data.name,
      hash: hashKey(secret).toString("hex"),
      scopes: [...new Set(parsed.data.scopes)],
      tenants,
      ...reach,
      createdAt: isoNow(clock),
      createdBy: principal.keyId,
      revokedAt: undefined,
    };
    await store.create(record);
    await audit(
      auditLog,
      clock,
      principal,
      "key.create",
      record.id,
      {
        name: record.name,
        scopes: record.scopes,
        tenants: record.tenants ?? null,
        teams: record.teams ?? null,
        groups: record.groups ?? null,
      },
      record.tenants,
    );
    return c.json({ ...keyView(record), key: secret }, 201);
  });
  // A limited key lists and revokes only keys limited to its tenants; others look absent (404, not 403).
  app.get("/v1/keys", async (c) => {
    const principal = c.get("principal");
    const keys = await store.list();
    const visible = visibleAmong(keys, principal);
    const items = keys
      .filter((k) => withinTenants(principal.tenants, k.tenants) && withinReach(principal, k))
      .map((k) => keyView(k, visible));
    return c.json({ items });
  });
  app.delete("/v1/keys/:id", async (c) => {
    const id = c.req.param("id");
    const principal = c.get("principal");
    const target = (await store.list()).find((k) => k.id === id);
    const notFound = () => errorResponse(c, 404, "HERALD_E_KEY_NOT_FOUND", `No API key "${id.slice(0, 60)}" (see GET /v1/keys).`);
    if (!target || !withinTenants(principal.tenants, target.tenants) || !withinReach(principal, target)) return notFound();
    if (!(await store.revoke(id, isoNow(clock)))) return notFound();
    await audit(auditLog, clock, principal, "key.revoke", id, {}, target.tenants);
    return c.body(null, 204);
  });
  return app;
}

export const auditQuerySchema = z.strictObject({
  cursor: z.string().min(1).max(200).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** `GET /v1/audit`: every write through the API, newest first (admin). */
export function auditRoutes(auditLog: AuditLog, keys: ApiKeyVerifier, keyStore: ApiKeyStore): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get("/v1/audit", requireScope(keys, "admin"), async (c) => {
    const q = auditQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    // A tenant-limited key reads only entries whose tenants are all its own (see `audit`).
    const principal = c.get("principal");
    const page = await auditLog.list({ cursor: q.data.cursor, limit: q.data.limit ?? 100, tenants: principal.tenants });
    // The acting key's id only when the reader may see that key (a wider key's id stays hidden: null).
    const visible = await visibleKeyIds(keyStore, principal);
    const items = page.items.map((e) => ({ ...e, actor: visible(e.actor) ? e.actor : null, tenants: e.tenants ?? null }));
    return c.json({ items, nextCursor: page.nextCursor ?? null });
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
    // A POST that only reads (its audience is too big for a query string).
    if (c.req.path === "/v1/audiences/estimate") return;
    if (!c.req.path.startsWith("/v1/") || c.res.status >= 300) return;
    const principal = c.get("principal");
    if (!principal) return;
    const named = c.get("auditTarget");
    const target = named?.target ?? c.req.path.split("/")[3] ?? c.req.path;
    const tenants = named?.tenants ?? principal.tenants;
    await audit(auditLog, clock, principal, `${c.req.method} ${c.req.routePath}`, target, { status: c.res.status }, tenants);
  };
}
