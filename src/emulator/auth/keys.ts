import { exportJWK, generateKeyPair, SignJWT } from "jose";

/**
 * The emulator's own signing: key pairs, the tokens the Bot Connector puts on the activities it
 * posts to the bot, and the OpenID documents that publish the keys. The emulator stands for
 * Teams, an outside party, so it is written here against jose and the protocol
 * (shared/reference/teams-bot-protocol.md, section 3) and shares nothing with Herald's verifier
 * (src/inbound/auth): a mistake made in one is caught by the other.
 */

/** A public key as the Connector's JWKS lists it (no `alg`; `endorsements` names the channels it signs for). */
export interface EmulatorJwk {
  kty: "RSA";
  use: "sig";
  kid: string;
  n: string;
  e: string;
  endorsements?: string[];
}

/** One RSA key pair (RS256). */
export interface EmulatorKeyPair {
  kid: string;
  /** Never leaves the process. */
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: EmulatorJwk;
}

/** Generates a 2048-bit RSA key pair for RS256 and its published JWK. */
export async function createKeyPair(kid: string, endorsements?: readonly string[]): Promise<EmulatorKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { modulusLength: 2048, extractable: true });
  const jwk = await exportJWK(publicKey);
  if (typeof jwk.n !== "string" || typeof jwk.e !== "string") throw new Error("createKeyPair: the RSA public key did not export n and e.");
  const publicJwk: EmulatorJwk = { kty: "RSA", use: "sig", kid, n: jwk.n, e: jwk.e };
  if (endorsements) publicJwk.endorsements = [...endorsements];
  return { kid, privateKey, publicKey, publicJwk };
}

/**
 * A token shaped like the Connector's on `POST /api/messages`: header `{alg: RS256, kid, typ: JWT}`,
 * claims `{serviceurl, nbf, exp, iss, aud}` (lowercase `serviceurl`, no `iat`).
 * @param now issue time in milliseconds since the epoch
 * @param lifetimeSeconds seconds from `nbf` to `exp` (the Connector uses 3600)
 */
export async function signConnectorToken(
  keys: EmulatorKeyPair,
  claims: { issuer: string; audience: string; serviceUrl: string; now: number; lifetimeSeconds: number },
): Promise<string> {
  const nbf = Math.floor(claims.now / 1000);
  return new SignJWT({ serviceurl: claims.serviceUrl, nbf, exp: nbf + claims.lifetimeSeconds, iss: claims.issuer, aud: claims.audience })
    .setProtectedHeader({ alg: "RS256", kid: keys.kid, typ: "JWT" })
    .sign(keys.privateKey);
}

/** Where the Connector publishes its documents, relative to its login host. */
export const openIdMetadataPath = "/v1/.well-known/openidconfiguration";
export const jwksPath = "/v1/.well-known/keys";

/** The Bot Framework OpenID metadata and JWKS that an emulator at `baseUrl` serves. */
export function connectorOpenIdDocuments(baseUrl: string, issuer: string, keys: readonly EmulatorKeyPair[]) {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    metadataUrl: base + openIdMetadataPath,
    metadata: {
      issuer,
      // The real document names this placeholder: the Connector has no interactive login.
      authorization_endpoint: "https://invalid.botframework.com",
      jwks_uri: base + jwksPath,
      id_token_signing_alg_values_supported: ["RS256"],
      token_endpoint_auth_methods_supported: ["private_key_jwt"],
    },
    jwks: { keys: keys.map((k) => structuredClone(k.publicJwk)) },
  };
}
