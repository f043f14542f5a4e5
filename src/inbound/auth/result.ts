/**
 * The outcome of verifying the Connector's token on one inbound activity (protocol reference,
 * section 3). Failures carry a stable code, the HTTP status to answer with and a reason that
 * says what to check next. Reasons never contain the token.
 */

/** Stable codes of a refused inbound token. */
export type InboundAuthCode =
  /** No Authorization header. */
  | "HERALD_E_AUTH_MISSING"
  /** Not `Bearer <compact JWS>`, an unreadable header or payload, or no `kid`. */
  | "HERALD_E_AUTH_MALFORMED"
  /** `alg` is not RS256/RS384/RS512 (e.g. `none`, HS256), or does not match the key's `alg`. */
  | "HERALD_E_AUTH_ALGORITHM"
  /** The signature does not verify, or no published key has the token's `kid`. */
  | "HERALD_E_AUTH_SIGNATURE"
  | "HERALD_E_AUTH_ISSUER"
  | "HERALD_E_AUTH_AUDIENCE"
  | "HERALD_E_AUTH_EXPIRED"
  | "HERALD_E_AUTH_NOT_YET_VALID"
  /** The token's `serviceurl` claim is missing or names another Connector than the activity. */
  | "HERALD_E_AUTH_SERVICEURL"
  /** The signing key is not endorsed for the activity's channel (403). */
  | "HERALD_E_AUTH_ENDORSEMENT"
  /** The OpenID metadata or signing keys could not be fetched and no usable copy is cached. */
  | "HERALD_E_AUTH_KEYS_UNAVAILABLE"
  /** A bug: verification threw. Logged at error level. */
  | "HERALD_E_AUTH_INTERNAL";

/** What Herald knows about the caller once the token verified. */
export interface InboundClaims {
  /** `iss`, equal to the configured issuer. */
  issuer: string;
  /** The bot's app id (`aud`). */
  audience: string;
  /** The token's `serviceurl` claim, as written in the token. */
  serviceUrl: string;
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
  /** `nbf`, seconds since the epoch, when present. */
  notBefore: number | undefined;
  /** `kid` of the key that signed the token. */
  keyId: string;
  /** Every claim of the token, untouched. */
  payload: Readonly<Record<string, unknown>>;
}

export interface VerifyFailure {
  ok: false;
  /** 403 only for a missing endorsement (the caller is authentic but not for this channel). */
  status: 401 | 403;
  code: InboundAuthCode;
  reason: string;
}

export type VerifyResult = { ok: true; claims: Readonly<InboundClaims> } | VerifyFailure;

/** A 401 refusal (every failure except a missing endorsement). */
export function unauthorized(code: Exclude<InboundAuthCode, "HERALD_E_AUTH_ENDORSEMENT">, reason: string): VerifyFailure {
  return { ok: false, status: 401, code, reason };
}

/** The one 403: a genuine key that is not endorsed for the activity's channel. */
export function forbidden(reason: string): VerifyFailure {
  return { ok: false, status: 403, code: "HERALD_E_AUTH_ENDORSEMENT", reason };
}
