import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { errorResponse } from "../http/errors.js";

export type Scope = "send" | "read" | "admin";

/** Who is calling the API: a key id, what it may do, and (optionally) the only tenants it may touch. */
export interface Principal {
  keyId: string;
  scopes: readonly Scope[];
  /** undefined = every tenant. */
  tenants?: readonly string[] | undefined;
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

export type ApiEnv = { Variables: { principal: Principal } };

/** Require `Authorization: Bearer <key>` with `scope` (admin implies every scope). */
export function requireScope(verifier: ApiKeyVerifier, scope: Scope): MiddlewareHandler<ApiEnv> {
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
    if (!principal.scopes.includes(scope) && !principal.scopes.includes("admin")) {
      return errorResponse(c, 403, "HERALD_E_FORBIDDEN", `This API key lacks the "${scope}" scope needed here.`);
    }
    c.set("principal", principal);
    await next();
  };
}

/** True when the principal may act on `tenantId`. */
export function mayUseTenant(principal: Principal, tenantId: string | undefined): boolean {
  if (!principal.tenants) return true;
  return tenantId !== undefined && principal.tenants.includes(tenantId);
}
