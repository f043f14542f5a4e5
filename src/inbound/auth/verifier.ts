import type { KeyObject } from "node:crypto";
import { compactVerify, errors } from "jose";
import { type Clock, systemClock } from "../../clock.js";
import { type Logger, silentLogger } from "../../log.js";
import { allowedAlgorithms, parseBearer } from "./bearer.js";
import { defaultKeyCachePolicy, type KeyCachePolicy } from "./cache-policy.js";
import { checkClaims, checkEndorsement } from "./claims.js";
import { createKeyCache, type FetchFn } from "./key-cache.js";
import { unauthorized, type VerifyFailure, type VerifyResult } from "./result.js";
import { defaultTokenCacheSize, VerifiedTokenCache } from "./token-cache.js";

export interface InboundVerifierOptions {
  /** The bot's Microsoft App ID: the only accepted `aud`. */
  appId: string;
  /** The only accepted `iss` (public cloud: `https://api.botframework.com`). */
  issuer: string;
  /** OpenID metadata document whose `jwks_uri` lists the signing keys. */
  openIdMetadataUrl: string;
  /** Time source for token lifetimes and cache ages. Default: the system clock. */
  clock?: Clock;
  /** HTTP client for the metadata and keys. Default: the global `fetch`. */
  fetch?: FetchFn;
  /** Where key refreshes and their failures are logged. Default: silent. */
  logger?: Logger;
  /** Overrides of the key cache timings (see KeyCachePolicy for each default). */
  cache?: Partial<KeyCachePolicy>;
  /**
   * How many verified tokens to remember (exact token string → signature verified with which key),
   * so the signature is checked once per token rather than once per activity. 0 turns it off.
   * Default 4,096. Claims and lifetime are checked on every activity either way.
   */
  verifiedTokens?: number;
}

/** The activity fields the token must vouch for. */
export interface VerifiedActivityFields {
  serviceUrl: string;
  channelId: string;
}

export interface InboundVerifier {
  /**
   * Verify the `Authorization` header of one `POST /api/messages` against the activity it came
   * with: all six checks of section 3. Never throws; a refusal says which check failed.
   */
  verify(authorizationHeader: string | undefined, activity: VerifiedActivityFields): Promise<VerifyResult>;
}

/**
 * The Connector-token verifier. The OpenID metadata and keys are fetched on the first request,
 * not here, so start-up never depends on login.botframework.com being reachable.
 * Throws only for options that are programming errors (empty app id or issuer, bad URL).
 */
export function createInboundVerifier(options: InboundVerifierOptions): InboundVerifier {
  if (options.appId.trim() === "") throw new TypeError("createInboundVerifier: appId is empty; set HERALD_APP_ID.");
  if (options.issuer.trim() === "") throw new TypeError("createInboundVerifier: issuer is empty.");
  if (!URL.canParse(options.openIdMetadataUrl)) {
    throw new TypeError(`createInboundVerifier: openIdMetadataUrl "${options.openIdMetadataUrl}" is not an absolute URL.`);
  }
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  const keys = createKeyCache({
    metadataUrl: options.openIdMetadataUrl,
    clock,
    fetch: options.fetch ?? globalThis.fetch,
    logger,
    policy: { ...defaultKeyCachePolicy, ...options.cache },
  });
  const verified = new VerifiedTokenCache(options.verifiedTokens ?? defaultTokenCacheSize);

  async function verify(authorizationHeader: string | undefined, activity: VerifiedActivityFields): Promise<VerifyResult> {
    const parsed = parseBearer(authorizationHeader);
    if (!parsed.ok) return parsed;
    const { token, alg, kid } = parsed.value;

    const found = await keys.lookup(kid);
    if (found.status === "unavailable") {
      return unauthorized(
        "HERALD_E_AUTH_KEYS_UNAVAILABLE",
        `The Connector's signing keys could not be fetched (${found.reason}). Check that this host can reach ${options.openIdMetadataUrl} (or HERALD_OPENID_METADATA_URL).`,
      );
    }
    if (found.status === "unknown") {
      return unauthorized(
        "HERALD_E_AUTH_SIGNATURE",
        "No signing key published by the OpenID metadata has the token's kid, so it was not signed by the Bot Connector (after a key rotation Herald fetches the keys again, at most once an hour).",
      );
    }
    const key = found.key;
    if (key.alg !== undefined && key.alg !== alg) {
      return unauthorized("HERALD_E_AUTH_ALGORITHM", `The token is signed with ${alg} but its key is published for ${key.alg}.`);
    }

    // A token seen before with this very key object skips only the RSA check; the checks below run every time.
    const now = clock.now();
    const cached = verified.get(token, now);
    let payload: Readonly<Record<string, unknown>>;
    if (cached !== undefined && cached.key === key.key) {
      payload = cached.payload;
    } else {
      const signed = await verifySignature(token, key.key, alg);
      if (!signed.ok) return signed;
      payload = signed.payload;
    }

    const claims = checkClaims(payload, {
      issuer: options.issuer,
      appId: options.appId,
      serviceUrl: activity.serviceUrl,
      now,
      keyId: kid,
    });
    if (!claims.ok) return claims;
    const endorsement = checkEndorsement(key.endorsements, activity.channelId);
    if (endorsement) return endorsement;
    if (cached === undefined || cached.key !== key.key) verified.set(token, { key: key.key, payload: Object.freeze(payload) }, now);
    return { ok: true, claims: Object.freeze(claims.claims) };
  }

  return {
    async verify(authorizationHeader, activity) {
      try {
        return await verify(authorizationHeader, activity);
      } catch (error) {
        logger.error(
          { code: "HERALD_E_AUTH_INTERNAL", error: error instanceof Error ? error.message : String(error) },
          "inbound token verification failed unexpectedly",
        );
        return unauthorized("HERALD_E_AUTH_INTERNAL", "The token could not be verified because of an internal error; see Herald's log.");
      }
    },
  };
}

/** Check 1: the signature, with the algorithm list enforced by jose as well as by parseBearer. */
async function verifySignature(
  token: string,
  key: KeyObject,
  alg: string,
): Promise<{ ok: true; payload: Readonly<Record<string, unknown>> } | VerifyFailure> {
  let payloadBytes: Uint8Array;
  try {
    const result = await compactVerify(token, key, { algorithms: [...allowedAlgorithms] });
    payloadBytes = result.payload;
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      return unauthorized("HERALD_E_AUTH_SIGNATURE", "The token's signature does not verify with the Bot Connector's published key.");
    }
    if (error instanceof errors.JOSEAlgNotAllowed) {
      return unauthorized("HERALD_E_AUTH_ALGORITHM", `The token's algorithm ${alg} is refused.`);
    }
    if (error instanceof errors.JWSInvalid) {
      return unauthorized("HERALD_E_AUTH_MALFORMED", `The token is not a valid JWS (${error.message}).`);
    }
    // A key jose refuses for this algorithm (e.g. an RSA modulus under 2048 bits) cannot vouch for anything.
    return unauthorized(
      "HERALD_E_AUTH_SIGNATURE",
      `The token's signature could not be checked (${error instanceof Error ? error.message : "unknown error"}).`,
    );
  }
  let payload: unknown;
  try {
    payload = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payloadBytes));
  } catch {
    return unauthorized("HERALD_E_AUTH_MALFORMED", "The token's payload is not JSON.");
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
    return unauthorized("HERALD_E_AUTH_MALFORMED", "The token's payload is not a JSON object.");
  }
  return { ok: true, payload: payload as Record<string, unknown> };
}
