import { sanitize } from "../../log.js";
import { forbidden, type InboundClaims, unauthorized, type VerifyFailure } from "./result.js";

/** Section 3, check 4: at most 5 minutes of clock skew on `exp` and `nbf`, in seconds. */
export const clockSkewSeconds = 300;

export interface ClaimExpectations {
  /** The configured issuer (e.g. `https://api.botframework.com`). */
  issuer: string;
  /** The bot's app id. */
  appId: string;
  /** The activity's `serviceUrl`. */
  serviceUrl: string;
  /** Now, in milliseconds since the epoch (from the injected clock). */
  now: number;
  /** `kid` of the verified signature, copied into the claims. */
  keyId: string;
}

/**
 * Checks 2 to 5 of section 3 on a payload whose signature already verified: issuer, audience,
 * lifetime and serviceurl. Pure.
 */
export function checkClaims(
  payload: Readonly<Record<string, unknown>>,
  expect: ClaimExpectations,
): { ok: true; claims: InboundClaims } | VerifyFailure {
  const { iss, aud, exp, nbf } = payload;
  if (iss !== expect.issuer) {
    return unauthorized(
      "HERALD_E_AUTH_ISSUER",
      `The token's issuer ${shown(iss)} is not "${expect.issuer}". If the bot lives in another cloud set HERALD_CLOUD, or HERALD_TOKEN_ISSUER for a custom Connector.`,
    );
  }
  // RFC 7519 allows `aud` as an array; the Connector sends a string, and either must name this bot.
  const audiences = typeof aud === "string" ? [aud] : Array.isArray(aud) ? aud : [];
  if (!audiences.includes(expect.appId)) {
    return unauthorized(
      "HERALD_E_AUTH_AUDIENCE",
      `The token's audience ${shown(aud)} is not this bot's app id. Check that HERALD_APP_ID is the app id the Bot Framework registration uses.`,
    );
  }
  if (typeof exp !== "number" || !Number.isFinite(exp)) {
    return unauthorized("HERALD_E_AUTH_MALFORMED", "The token has no numeric `exp` claim; Connector tokens always expire.");
  }
  if (nbf !== undefined && (typeof nbf !== "number" || !Number.isFinite(nbf))) {
    return unauthorized("HERALD_E_AUTH_MALFORMED", "The token's `nbf` claim is not a number.");
  }
  const nowSeconds = Math.floor(expect.now / 1000);
  if (exp <= nowSeconds - clockSkewSeconds) {
    return unauthorized(
      "HERALD_E_AUTH_EXPIRED",
      `The token expired at ${isoSeconds(exp)}, more than ${clockSkewSeconds} s before now (${isoSeconds(nowSeconds)}). If this host's clock is wrong, fix its time sync.`,
    );
  }
  if (nbf !== undefined && nbf > nowSeconds + clockSkewSeconds) {
    return unauthorized(
      "HERALD_E_AUTH_NOT_YET_VALID",
      `The token is not valid before ${isoSeconds(nbf)}, more than ${clockSkewSeconds} s after now (${isoSeconds(nowSeconds)}). If this host's clock is wrong, fix its time sync.`,
    );
  }
  const serviceUrl = checkServiceUrl(payload, expect.serviceUrl);
  if (!serviceUrl.ok) return serviceUrl;
  return {
    ok: true,
    claims: {
      issuer: iss,
      audience: expect.appId,
      serviceUrl: serviceUrl.value,
      expiresAt: exp,
      notBefore: nbf,
      keyId: expect.keyId,
      payload,
    },
  };
}

/**
 * Check 5: the token's `serviceurl` claim names the activity's serviceUrl. The documented key is
 * lowercase `serviceurl`; some tokens spell it `serviceUrl`, so either is read, and when both are
 * present both must match.
 */
export function checkServiceUrl(
  payload: Readonly<Record<string, unknown>>,
  activityServiceUrl: string,
): { ok: true; value: string } | VerifyFailure {
  const values = [payload["serviceurl"], payload["serviceUrl"]].filter((v) => v !== undefined);
  if (values.length === 0) {
    return unauthorized(
      "HERALD_E_AUTH_SERVICEURL",
      "The token has no `serviceurl` claim, so it cannot vouch for the activity's serviceUrl.",
    );
  }
  for (const value of values) {
    if (typeof value !== "string" || !sameServiceUrl(value, activityServiceUrl)) {
      return unauthorized(
        "HERALD_E_AUTH_SERVICEURL",
        `The token's serviceurl ${shown(value)} does not match the activity's serviceUrl "${sanitize(activityServiceUrl)}": the token was issued for another Connector endpoint.`,
      );
    }
  }
  return { ok: true, value: values[0] as string };
}

/**
 * Exact comparison, except that one trailing slash may differ. Why: Teams writes the serviceUrl
 * with a trailing slash (`https://smba.trafficmanager.net/teams/`) while tokens minted by other
 * paths (the Emulator, relays, SDKs that normalise URLs) may drop it, and once a `v3/...` path
 * is joined to the base both spellings reach the same endpoint. Any
 * other difference (scheme, host, port, path, case) could point the bearer tokens Herald later
 * sends to this serviceUrl at another host, so it is refused.
 */
export function sameServiceUrl(a: string, b: string): boolean {
  return stripTrailingSlash(a) === stripTrailingSlash(b);
}

function stripTrailingSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}

/**
 * Check 6: when the signing key lists `endorsements`, the activity's channelId must be one of
 * them (case-sensitive, as botbuilder compares). A key without the field endorses every channel.
 */
export function checkEndorsement(endorsements: readonly string[] | undefined, channelId: string): VerifyFailure | undefined {
  if (endorsements === undefined || endorsements.includes(channelId)) return undefined;
  return forbidden(
    `The key that signed the token is not endorsed for channel "${sanitize(channelId, 60)}" (it is endorsed for: ${endorsements.map((e) => sanitize(e, 40)).join(", ") || "nothing"}).`,
  );
}

function shown(value: unknown): string {
  return value === undefined ? "(missing)" : `"${sanitize(value, 120)}"`;
}

function isoSeconds(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}
