import { exportJWK, generateKeyPair, SignJWT } from "jose";

/** An RS256 key pair publishing its JWKS, signing tokens the way Entra ID's v2 endpoint shapes them. */
export async function createSigner(kid = "herald-test-key") {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid, use: "sig", alg: "RS256" };
  return {
    jwks: { keys: [jwk] },
    /** Sign `claims`, valid from now for `expiresInSec` seconds of real time (the verifier uses the real clock). */
    sign: (claims: Record<string, unknown>, expiresInSec = 3600) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
        .setIssuedAt(now)
        .setNotBefore(now - 5)
        .setExpirationTime(now + expiresInSec)
        .sign(privateKey);
    },
  };
}
