import { ChannelValidation, SimpleCredentialProvider } from "botframework-connector";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createSigningKeys, openIdDocuments, type SigningKeys, signActivityToken } from "../../src/inbound/auth/signing.js";
import { APP_ID, bearer, ISSUER, type OpenIdServer, SERVICE_URL, startOpenIdServer } from "./support.js";

let key: SigningKeys;
let server: OpenIdServer;
beforeAll(async () => {
  key = await createSigningKeys({ kid: "emulator-1", endorsements: ["msteams"] });
  server = await startOpenIdServer([key]);
});
afterAll(() => server.close());

describe("signing kit", () => {
  it("signs tokens shaped like the Connector's", async () => {
    const now = Date.UTC(2026, 0, 15, 12, 0, 0);
    const token = await signActivityToken({
      key: key.privateKey,
      kid: key.kid,
      issuer: ISSUER,
      audience: APP_ID,
      serviceUrl: SERVICE_URL,
      lifetimeSeconds: 3600,
      now,
    });
    expect(decodeProtectedHeader(token)).toEqual({ alg: "RS256", kid: "emulator-1", typ: "JWT" });
    expect(decodeJwt(token)).toEqual({ serviceurl: SERVICE_URL, nbf: now / 1000, exp: now / 1000 + 3600, iss: ISSUER, aud: APP_ID });
  });

  it("publishes the metadata and a JWKS with endorsements under the /v1/.well-known paths", async () => {
    const plain = await createSigningKeys({ kid: "plain" });
    const docs = openIdDocuments({ baseUrl: "http://127.0.0.1:4000/", issuer: ISSUER, keys: [key, plain] });
    expect(docs.metadataUrl).toBe("http://127.0.0.1:4000/v1/.well-known/openidconfiguration");
    expect(docs.metadata).toMatchObject({
      issuer: ISSUER,
      jwks_uri: "http://127.0.0.1:4000/v1/.well-known/keys",
      id_token_signing_alg_values_supported: ["RS256"],
    });
    expect(docs.jwks.keys).toHaveLength(2);
    expect(docs.jwks.keys[0]).toMatchObject({ kty: "RSA", use: "sig", kid: "emulator-1", endorsements: ["msteams"] });
    expect(docs.jwks.keys[0]).not.toHaveProperty("d");
    expect(docs.jwks.keys[1]).not.toHaveProperty("endorsements");
    // The documents are copies: serving them cannot change the keys.
    docs.jwks.keys[0]!.endorsements!.push("webchat");
    expect(key.publicJwk.endorsements).toEqual(["msteams"]);
  });

  it("is accepted by botbuilder's own channel validation (the reference implementation)", async () => {
    const previous = ChannelValidation.OpenIdMetadataEndpoint;
    ChannelValidation.OpenIdMetadataEndpoint = server.metadataUrl;
    try {
      const token = await signActivityToken({
        key: key.privateKey,
        kid: key.kid,
        issuer: ISSUER,
        audience: APP_ID,
        serviceUrl: SERVICE_URL,
        lifetimeSeconds: 3600,
        now: Date.now(),
      });
      const identity = await ChannelValidation.authenticateChannelTokenWithServiceUrl(
        bearer(token),
        new SimpleCredentialProvider(APP_ID, ""),
        SERVICE_URL,
        "msteams",
      );
      expect(identity.isAuthenticated).toBe(true);
      // botbuilder prints the available public keys to console.error when it refuses; keep the output clean.
      vi.spyOn(console, "error").mockImplementation(() => undefined);
      await expect(
        ChannelValidation.authenticateChannelTokenWithServiceUrl(
          bearer(token),
          new SimpleCredentialProvider(APP_ID, ""),
          SERVICE_URL,
          "webchat",
        ),
      ).rejects.toThrow(/endorsement/);
    } finally {
      vi.restoreAllMocks();
      ChannelValidation.OpenIdMetadataEndpoint = previous;
    }
  });
});
