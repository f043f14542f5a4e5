import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { type Reach, unionReach } from "../config/oidc-roles.js";
import { errorResponse } from "../http/errors.js";

/**
 * What a key may do: `send` notifications, `read` everything it may reach, `admin` (keys, audit,
 * and every other scope), `draft` notifications for approval, `approve` (or send back) drafts.
 */
export type Scope = "send" | "read" | "admin" | "draft" | "approve";

/** Who is calling the API: a key id, what it may do, and (optionally) the only tenants it may touch. */
export interface Principal {
  keyId: string;
  scopes: readonly Scope[];
  /** undefined = every tenant. */
  tenants?: readonly string[] | undefined;
  /** Teams it may reach (issue 12); with `groups`, undefined = no team/group limit (delivery/audience/reach.ts). */
  teams?: readonly string[] | undefined;
  /** Entra groups it may reach. */
  groups?: readonly string[] | undefined;
  /** A person signed in through OpenID Connect (keyId is then `oidc:<tid>:<oid>` for Entra, else `oidc:<sub>`; never the changeable username); undefined for API keys. */
  person?: { name?: string | undefined; username?: string | undefined } | undefined;
  /**
   * A person's reach per scope (HERALD_OIDC_ROLES entries granting that scope); requireScope
   * narrows `tenants`/`teams`/`groups` to the scopes a route needs. undefined for API keys.
   */
  reach?: Partial<Record<Scope, Reach>> | undefined;
}

/** Finds the principal of a presented API key; undefined = not a valid key. */
export interface ApiKeyVerifier {
  verify(presented: string): Promise<Principal | undefined>;
}

/** SHA-256 of a key: keys are stored and compared hashed. */
export function hashKey(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

/** Compare a presented key with a known hash in constant time. */
export function keyMatches(presented: string, knownHash: Buffer): boolean {
  return timingSafeEqual(hashKey(presented), knownHash);
}

/** The bootstrap admin key from HERALD_API_KEY; other verifiers are tried after it. */
export function adminKeyVerifier(adminKey: string | undefined, next?: ApiKeyVerifier): ApiKeyVerifier {
  const hash = adminKey ? hashKey(adminKey) : undefined;
  return {
    async verify(presented) {
      if (hash && keyMatches(presented, hash)) return { keyId: "env:HERALD_API_KEY", scopes: ["admin"] };
      return next?.verify(presented);
    },
  };
}

/** What a route tells the audit middleware about its write: the target's id and tenants. */
export interface AuditTarget {
  target: string;
  /** The target's tenants; undefined = unknown (the acting key's limit is used). */
  tenants?: readonly string[] | undefined;
}

export type ApiEnv = { Variables: { principal: Principal; auditTarget: AuditTarget | undefined } };

/** Checks run after authentication (e.g. the per-key request limit); a Response refuses the request. */
export type AfterAuth = (c: Context<ApiEnv>) => Response | undefined;

/**
 * Require `Authorization: Bearer <key>` with `scope` (or one of several; admin implies every scope), then run
 * `after` (the per-key request limit). Pass an ApiKeyVerifier that has `after` attached with
 * `withAfterAuth` to limit every route at once.
 */
export function requireScope(verifier: ApiKeyVerifier & { after?: AfterAuth }, scope: Scope | readonly Scope[]): MiddlewareHandler<ApiEnv> {
  const wanted: readonly Scope[] = typeof scope === "string" ? [scope] : scope;
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      return errorResponse(
        c,
        401,
        "HERALD_E_UNAUTHENTICATED",
        "Send an API key as `Authorization: Bearer <key>` (HERALD_API_KEY or a key created with `herald keys create`).",
        {
          "WWW-Authenticate": "Bearer",
        },
      );
    }
    const principal = await verifier.verify(match[1]);
    if (!principal)
      return errorResponse(c, 401, "HERALD_E_UNAUTHENTICATED", "The API key is not valid (unknown or revoked).", {
        "WWW-Authenticate": "Bearer",
      });
    c.set("principal", principal);
    // The per-key limit counts every authenticated request, refused ones included.
    const refused = verifier.after?.(c);
    if (refused) return refused;
    if (!wanted.some((s) => principal.scopes.includes(s)) && !principal.scopes.includes("admin")) {
      const named = wanted.map((s) => `"${s}"`).join(" or ");
      return errorResponse(c, 403, "HERALD_E_FORBIDDEN", `This API key lacks the ${named} scope needed here.`);
    }
    // A person: only the reach of the entries that grant a scope this route accepts.
    if (principal.reach) {
      const reach = principal.reach;
      const used = [...wanted, "admin" as const].flatMap((s) => (principal.scopes.includes(s) && reach[s] ? [reach[s]] : []));
      c.set("principal", { ...principal, ...unionReach(used) });
    }
    await next();
  };
}

/** True when the principal may act on `tenantId`. */
export function mayUseTenant(principal: Principal, tenantId: string | undefined): boolean {
  if (!principal.tenants) return true;
  return tenantId !== undefined && principal.tenants.includes(tenantId);
}

/** The same verifier, with a check every authenticated request passes (see requireScope). */
export function withAfterAuth(verifier: ApiKeyVerifier, after: AfterAuth): ApiKeyVerifier & { after: AfterAuth } {
  return { verify: (presented) => verifier.verify(presented), after };
}
