import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import type { AppCertificate } from "../config/certificate.js";
import { fetchToken, splitEndpoint, type TokenRequest } from "./token-fetch.js";
import type { TokenSource } from "./tokens.js";

/**
 * OAuth2 client credentials with a certificate instead of a secret (RFC 7523 `private_key_jwt`,
 * as Entra ID takes it): the form carries `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
 * and `client_assertion`, a JWT signed with the app's private key.
 */
export const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** Lifetime of one assertion, in seconds: 10 minutes, as MSAL uses; a new one is signed for every token request. */
export const assertionLifetimeSeconds = 600;

export interface ClientAssertionCredentials {
  /** The full token URL (see `tokenEndpointFor`); also the assertion's `aud`. */
  endpoint: string;
  clientId: string;
  certificate: AppCertificate;
  /** The Connector scope of the cloud, e.g. `https://api.botframework.com/.default`. */
  scope: string;
}

/**
 * The assertion: header `{alg: RS256, typ: JWT, x5t, x5t#S256}` (Entra finds the uploaded
 * certificate by its thumbprint), claims `aud` = the token endpoint, `iss` = `sub` = the app id,
 * a fresh `jti`, `iat` = `nbf` = now, `exp` = now + 10 min.
 * @param now milliseconds since the epoch
 */
export async function signClientAssertion(p: {
  certificate: AppCertificate;
  clientId: string;
  audience: string;
  now: number;
}): Promise<string> {
  const now = Math.floor(p.now / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS256", typ: "JWT", x5t: p.certificate.x5t, "x5t#S256": p.certificate.x5tS256 })
    .setAudience(p.audience)
    .setIssuer(p.clientId)
    .setSubject(p.clientId)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + assertionLifetimeSeconds)
    .sign(p.certificate.privateKey);
}

/** A TokenSource doing client credentials with a freshly signed assertion per request. */
export function clientAssertionSource(creds: ClientAssertionCredentials, deps: { dispatcher: Dispatcher; clock: Clock }): TokenSource {
  const target = splitEndpoint(creds.endpoint);
  return async () => {
    const assertion = await signClientAssertion({
      certificate: creds.certificate,
      clientId: creds.clientId,
      audience: creds.endpoint,
      now: deps.clock.now(),
    });
    const req: TokenRequest = {
      ...target,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: creds.clientId,
        client_assertion_type: clientAssertionType,
        client_assertion: assertion,
        scope: creds.scope,
      }).toString(),
    };
    return fetchToken(deps.dispatcher, req, deps.clock);
  };
}
