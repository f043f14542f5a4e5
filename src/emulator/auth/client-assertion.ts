import { createHash, type KeyObject, X509Certificate } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify } from "jose";

/**
 * The token endpoint's check of a certificate credential, as Entra ID makes it (RFC 7523
 * `private_key_jwt`): the assertion names the certificate by thumbprint (`x5t` or `x5t#S256`)
 * among those registered for the app, is signed by its key (RS256 or PS256), has `aud` = the
 * token endpoint's URL, `iss` = `sub` = the app id, and is within `nbf`..`exp` (5 minutes of
 * skew allowed, as Entra does). Written for the emulator alone: Herald's signing side
 * (src/connector/client-assertion.ts) is not used here.
 */

export const jwtBearerAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/** A certificate registered for an app (the public part an admin uploads to the app registration). */
export interface RegisteredCertificate {
  appId: string;
  x5t: string;
  x5tS256: string;
  publicKey: KeyObject;
}

/**
 * Parses the certificates given in the emulator's options (`appCertificates`). Every
 * CERTIFICATE block of a PEM is registered (each by its thumbprints): the emulator holds no
 * private key to tell the app's own certificate from the rest of a chain file, and a chain's
 * other certificates are not the app's keys anyway (an assertion signed by the app's key names
 * its own). Throws HERALD_E_EMULATOR_OPTIONS for a PEM that holds no readable certificate.
 */
export function registerCertificates(list: readonly { appId: string; certificate: string }[]): RegisteredCertificate[] {
  return list.flatMap(({ appId, certificate }, i) => {
    const blocks = certificate.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw notCertificate(i);
    return blocks.map((block) => {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(block);
      } catch {
        throw notCertificate(i);
      }
      return {
        appId,
        x5t: createHash("sha1").update(cert.raw).digest("base64url"),
        x5tS256: createHash("sha256").update(cert.raw).digest("base64url"),
        publicKey: cert.publicKey,
      };
    });
  });
}

const notCertificate = (i: number) =>
  new Error(`HERALD_E_EMULATOR_OPTIONS: appCertificates[${i}].certificate is not a PEM certificate (-----BEGIN CERTIFICATE-----).`);

/** An OAuth error as Entra answers it. */
export type AssertionRefusal = { status: number; error: string; error_description: string };

const invalidClient = (description: string): AssertionRefusal => ({ status: 401, error: "invalid_client", error_description: description });

/**
 * Checks a client assertion. Answers the app id it authenticates, or the refusal.
 * @param clientId the form's `client_id` (optional with an assertion: then its `sub`)
 * @param tokenUrl the URL the request was sent to; the assertion's `aud` must be it
 * @param now milliseconds since the epoch
 */
export async function checkClientAssertion(p: {
  assertion: string;
  clientId: string | undefined;
  tokenUrl: string;
  certificates: readonly RegisteredCertificate[];
  now: number;
}): Promise<{ appId: string } | AssertionRefusal> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(p.assertion);
    claims = decodeJwt(p.assertion);
  } catch {
    return { status: 400, error: "invalid_request", error_description: "AADSTS50027: JWT token is invalid or malformed." };
  }
  const appId = p.clientId ?? (typeof claims.sub === "string" ? claims.sub : undefined);
  if (!appId)
    return {
      status: 400,
      error: "invalid_request",
      error_description: "AADSTS900144: The request body must contain the parameter 'client_id'.",
    };
  if (claims.iss !== appId || claims.sub !== appId)
    return invalidClient(
      "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter (iss and sub must be the app id).",
    );
  const own = p.certificates.filter((c) => c.appId === appId);
  const thumb = (name: string) => (typeof header[name] === "string" ? (header[name] as string) : undefined);
  const x5t = thumb("x5t");
  const x5tS256 = thumb("x5t#S256");
  const cert = own.find((c) => (x5t !== undefined && c.x5t === x5t) || (x5tS256 !== undefined && c.x5tS256 === x5tS256));
  if (!cert)
    return invalidClient(
      own.length === 0
        ? `AADSTS700027: Client assertion failed signature validation. [Reason - The key was not found.] No certificate is registered for app '${appId}' (emulator option appCertificates).`
        : "AADSTS700027: Client assertion failed signature validation. [Reason - The key was not found.] The x5t / x5t#S256 thumbprint names no certificate of this app.",
    );
  try {
    await jwtVerify(p.assertion, cert.publicKey, {
      algorithms: ["RS256", "PS256"],
      audience: p.tokenUrl,
      currentDate: new Date(p.now),
      clockTolerance: 300,
      requiredClaims: ["exp", "nbf", "aud", "jti"],
    });
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed)
      return invalidClient("AADSTS700027: Client assertion contains an invalid signature.");
    if (error instanceof errors.JWTExpired || (error instanceof errors.JWTClaimValidationFailed && error.claim === "nbf"))
      return invalidClient("AADSTS700024: Client assertion is not within its valid time range.");
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === "aud")
      return invalidClient(`AADSTS50013: Assertion audience claim does not match the required value '${p.tokenUrl}'.`);
    return invalidClient(`AADSTS700027: Client assertion failed validation: ${(error as Error).message}.`);
  }
  return { appId };
}
