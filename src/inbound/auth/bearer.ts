import { sanitize } from "../../log.js";
import { unauthorized, type VerifyFailure } from "./result.js";

/** Algorithms the Connector signs with; botbuilder accepts the same three. Everything else is refused. */
export const allowedAlgorithms: readonly string[] = ["RS256", "RS384", "RS512"];

/**
 * Largest accepted Authorization header, in characters. Connector tokens are about 1.5 KB; 16 KB
 * leaves room for growth while keeping a hostile header from costing a large parse.
 */
export const maxAuthorizationLength = 16 * 1024;

/** Three base64url segments; the signature may be empty only so that `alg: none` gets its own code. */
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export interface ParsedToken {
  token: string;
  alg: string;
  kid: string;
}

/**
 * Read `Authorization: Bearer <token>` and the token's protected header, without trusting any
 * of it yet. The scheme is matched case-insensitively (RFC 9110 section 11.1).
 */
export function parseBearer(header: string | undefined): { ok: true; value: ParsedToken } | VerifyFailure {
  if (header === undefined || header.trim() === "") {
    return unauthorized(
      "HERALD_E_AUTH_MISSING",
      "The request has no Authorization header; the Bot Connector sends `Authorization: Bearer <JWT>` on every activity.",
    );
  }
  if (header.length > maxAuthorizationLength) {
    return unauthorized("HERALD_E_AUTH_MALFORMED", `The Authorization header is longer than ${maxAuthorizationLength} characters.`);
  }
  const match = /^(\S+) +(\S+)$/.exec(header.trim());
  if (!match || match[1]!.toLowerCase() !== "bearer") {
    return unauthorized("HERALD_E_AUTH_MALFORMED", "The Authorization header is not `Bearer <JWT>`.");
  }
  const token = match[2]!;
  if (!compactJws.test(token)) {
    return unauthorized("HERALD_E_AUTH_MALFORMED", "The bearer token is not a compact JWS (three base64url segments).");
  }
  const header64 = token.slice(0, token.indexOf("."));
  let protectedHeader: unknown;
  try {
    protectedHeader = JSON.parse(Buffer.from(header64, "base64url").toString("utf8"));
  } catch {
    return unauthorized("HERALD_E_AUTH_MALFORMED", "The token's header is not base64url-encoded JSON.");
  }
  if (typeof protectedHeader !== "object" || protectedHeader === null || Array.isArray(protectedHeader)) {
    return unauthorized("HERALD_E_AUTH_MALFORMED", "The token's header is not a JSON object.");
  }
  const { alg, kid } = protectedHeader as Record<string, unknown>;
  if (typeof alg !== "string" || !allowedAlgorithms.includes(alg)) {
    return unauthorized(
      "HERALD_E_AUTH_ALGORITHM",
      `The token's algorithm ${typeof alg === "string" ? `"${sanitize(alg, 20)}"` : "(missing)"} is refused; only ${allowedAlgorithms.join(", ")} are accepted.`,
    );
  }
  if (typeof kid !== "string" || kid === "") {
    return unauthorized("HERALD_E_AUTH_MALFORMED", "The token's header has no `kid`, so no published signing key can be chosen.");
  }
  return { ok: true, value: { token, alg, kid } };
}
