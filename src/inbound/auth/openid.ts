import { createPublicKey, type JsonWebKey, type KeyObject } from "node:crypto";
import { sanitize } from "../../log.js";

/** One usable signing key from the Connector's JWKS. */
export interface PublishedKey {
  kid: string;
  key: KeyObject;
  /** The JWK's `alg`, when it names one; a token signed with another algorithm is refused. */
  alg: string | undefined;
  /** Channels this key may sign for (`endorsements`); undefined = the JWK has no such field. */
  endorsements: readonly string[] | undefined;
}

export interface ParsedJwks {
  keys: ReadonlyMap<string, PublishedKey>;
  /** Why entries were left out (not RSA, not for signatures, no kid, unreadable), for the log. */
  skipped: readonly string[];
}

/** The `jwks_uri` of an OpenID metadata document, resolved against the document's own URL. */
export function parseOpenIdMetadata(document: unknown, metadataUrl: string): { ok: true; jwksUri: string } | { ok: false; reason: string } {
  if (typeof document !== "object" || document === null) return { ok: false, reason: "the OpenID metadata is not a JSON object" };
  const jwksUri = (document as Record<string, unknown>)["jwks_uri"];
  if (typeof jwksUri !== "string" || jwksUri === "") return { ok: false, reason: "the OpenID metadata has no jwks_uri" };
  let url: URL;
  try {
    url = new URL(jwksUri, metadataUrl);
  } catch {
    return { ok: false, reason: `the OpenID metadata's jwks_uri "${sanitize(jwksUri)}" is not a URL` };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, reason: `the OpenID metadata's jwks_uri "${sanitize(jwksUri)}" is not http(s)` };
  }
  return { ok: true, jwksUri: url.toString() };
}

/**
 * The RSA signing keys of a JWKS document, by `kid`. Entries that cannot verify an RS256/384/512
 * signature are skipped rather than failing the whole set, so one odd entry cannot lock out
 * every valid key. The first entry wins when two share a `kid`.
 */
export function parseJwks(document: unknown): { ok: true; value: ParsedJwks } | { ok: false; reason: string } {
  const entries = typeof document === "object" && document !== null ? (document as Record<string, unknown>)["keys"] : undefined;
  if (!Array.isArray(entries)) return { ok: false, reason: "the JWKS document has no keys array" };
  const keys = new Map<string, PublishedKey>();
  const skipped: string[] = [];
  entries.forEach((entry: unknown, index) => {
    const parsed = parseEntry(entry);
    if (typeof parsed === "string") skipped.push(`keys[${index}]: ${parsed}`);
    else if (keys.has(parsed.kid)) skipped.push(`keys[${index}]: duplicate kid "${sanitize(parsed.kid, 80)}"`);
    else keys.set(parsed.kid, parsed);
  });
  if (keys.size === 0)
    return { ok: false, reason: `the JWKS document has no usable RSA signing key (${skipped.join("; ") || "it is empty"})` };
  return { ok: true, value: { keys, skipped } };
}

const base64url = /^[A-Za-z0-9_-]+$/;

/** RFC 7518 section 3.3: RS256/384/512 keys must be at least 2048 bits (jose enforces it too). */
const minimumModulusBits = 2048;

function parseEntry(entry: unknown): PublishedKey | string {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return "not an object";
  const jwk = entry as Record<string, unknown>;
  if (typeof jwk["kid"] !== "string" || jwk["kid"] === "") return "no kid";
  if (jwk["kty"] !== "RSA") return `kty ${sanitize(jwk["kty"], 20)} is not RSA`;
  if (jwk["use"] !== undefined && jwk["use"] !== "sig") return `use ${sanitize(jwk["use"], 20)} is not sig`;
  if (typeof jwk["n"] !== "string" || typeof jwk["e"] !== "string") return "no modulus or exponent";
  // Node decodes base64 leniently; a modulus with stray characters would become some other key.
  if (!base64url.test(jwk["n"]) || !base64url.test(jwk["e"])) return "modulus or exponent is not base64url";
  if (jwk["alg"] !== undefined && typeof jwk["alg"] !== "string") return "alg is not a string";
  let key: KeyObject;
  try {
    // Only the public parts are taken, so a JWKS that wrongly carried `d` still yields a public key.
    key = createPublicKey({ key: { kty: "RSA", n: jwk["n"], e: jwk["e"] } satisfies JsonWebKey, format: "jwk" });
  } catch (error) {
    return `unreadable RSA key (${error instanceof Error ? error.message : "unknown error"})`;
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < minimumModulusBits) return `RSA modulus of ${bits} bits is under ${minimumModulusBits}`;
  const raw = jwk["endorsements"];
  // A key that lists endorsements in an unexpected shape endorses nothing: refusing is the safe side.
  const endorsements = raw === undefined ? undefined : Array.isArray(raw) ? raw.filter((e): e is string => typeof e === "string") : [];
  return { kid: jwk["kid"], key, alg: jwk["alg"], endorsements };
}
