import { generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import { type CryptoKey, SignJWT } from "jose";

/**
 * A signing kit that plays the Bot Connector's side of section 3: key pairs, tokens shaped like
 * the ones the Connector puts on `POST /api/messages`, and the OpenID metadata and JWKS documents
 * that publish the keys. Used by Herald's verifier tests; the Teams emulator signs with its own
 * code (src/emulator/auth/keys.ts) so that a mistake here cannot hide one in the verifier.
 */

/** Where the Connector publishes its documents, relative to its login host. */
export const openIdMetadataPath = "/v1/.well-known/openidconfiguration";
export const jwksPath = "/v1/.well-known/keys";

/** A public key as the Connector's JWKS lists it (no `alg`; `endorsements` names the channels it signs for). */
export interface PublishedJwk {
  kty: "RSA";
  use: "sig";
  kid: string;
  n: string;
  e: string;
  endorsements?: string[];
}

/** One RSA key pair, usable with RS256, RS384 and RS512. */
export interface SigningKeys {
  kid: string;
  /** Keep it in memory only; it signs tokens Herald will trust. */
  privateKey: KeyObject;
  publicJwk: PublishedJwk;
}

export interface CreateSigningKeysOptions {
  /** The `kid` tokens name in their header. */
  kid: string;
  /** Channels the key is endorsed for (e.g. `["msteams"]`); omitted = the JWK has no `endorsements`. */
  endorsements?: readonly string[];
  /** RSA modulus size in bits. Default 2048, the least jose accepts for RS256. */
  modulusLength?: number;
}

const generateRsa = promisify(generateKeyPair);

/** Generate an RSA key pair and its published JWK. */
export async function createSigningKeys(options: CreateSigningKeysOptions): Promise<SigningKeys> {
  const { privateKey, publicKey } = await generateRsa("rsa", { modulusLength: options.modulusLength ?? 2048 });
  const exported = publicKey.export({ format: "jwk" });
  if (typeof exported.n !== "string" || typeof exported.e !== "string")
    throw new Error("createSigningKeys: the RSA public key did not export n and e.");
  const publicJwk: PublishedJwk = { kty: "RSA", use: "sig", kid: options.kid, n: exported.n, e: exported.e };
  if (options.endorsements) publicJwk.endorsements = [...options.endorsements];
  return { kid: options.kid, privateKey, publicJwk };
}

export interface ActivityTokenOptions {
  /** The private key (`SigningKeys.privateKey`). */
  key: KeyObject | CryptoKey;
  /** Written to the header; must be a `kid` the JWKS publishes. */
  kid: string;
  /** `iss`, e.g. `https://api.botframework.com`. */
  issuer: string;
  /** `aud`: the bot's app id. */
  audience: string;
  /** `serviceurl`: the serviceUrl of the activity the token travels with. */
  serviceUrl: string;
  /** Seconds from `nbf` to `exp`. The Connector issues tokens valid for 3600 s. */
  lifetimeSeconds: number;
  /** Issue time, in milliseconds since the epoch (e.g. `clock.now()`). */
  now: number;
  /** Signature algorithm. Default RS256, the one the Connector uses. */
  alg?: "RS256" | "RS384" | "RS512";
}

/**
 * Sign a token shaped like the Connector's: header `{alg, kid, typ: "JWT"}`, claims
 * `{serviceurl, nbf, exp, iss, aud}` (lowercase `serviceurl`, no `iat`).
 */
export async function signActivityToken(options: ActivityTokenOptions): Promise<string> {
  const nbf = Math.floor(options.now / 1000);
  return new SignJWT({
    serviceurl: options.serviceUrl,
    nbf,
    exp: nbf + options.lifetimeSeconds,
    iss: options.issuer,
    aud: options.audience,
  })
    .setProtectedHeader({ alg: options.alg ?? "RS256", kid: options.kid, typ: "JWT" })
    .sign(options.key);
}

/** The Connector's OpenID metadata document (same fields as login.botframework.com serves). */
export interface OpenIdMetadataDocument {
  issuer: string;
  authorization_endpoint: string;
  jwks_uri: string;
  id_token_signing_alg_values_supported: string[];
  token_endpoint_auth_methods_supported: string[];
}

export interface OpenIdDocuments {
  /** Serve `metadata` here (`<baseUrl>/v1/.well-known/openidconfiguration`); point HERALD_OPENID_METADATA_URL at it. */
  metadataUrl: string;
  /** Serve `jwks` here (`<baseUrl>/v1/.well-known/keys`). */
  jwksUrl: string;
  metadata: OpenIdMetadataDocument;
  jwks: { keys: PublishedJwk[] };
}

/**
 * The metadata document and JWKS an emulated login host at `baseUrl` (e.g.
 * `http://127.0.0.1:4000`) serves for these keys.
 * @param issuer the metadata's `issuer`; use the same value as the tokens' `iss`.
 */
export function openIdDocuments(options: {
  baseUrl: string;
  issuer: string;
  keys: readonly { publicJwk: PublishedJwk }[];
}): OpenIdDocuments {
  const base = options.baseUrl.replace(/\/+$/, "");
  const jwksUrl = base + jwksPath;
  return {
    metadataUrl: base + openIdMetadataPath,
    jwksUrl,
    metadata: {
      issuer: options.issuer,
      // The real document names this placeholder: the Connector has no interactive login.
      authorization_endpoint: "https://invalid.botframework.com",
      jwks_uri: jwksUrl,
      id_token_signing_alg_values_supported: ["RS256"],
      token_endpoint_auth_methods_supported: ["private_key_jwt"],
    },
    jwks: { keys: options.keys.map((k) => structuredClone(k.publicJwk)) },
  };
}
