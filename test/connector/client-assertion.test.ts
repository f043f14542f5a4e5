import { createPrivateKey, randomUUID, X509Certificate } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { loadConfig } from "../../src/config/config.js";
import { clientAssertionType } from "../../src/connector/client-assertion.js";
import { ConnectorError } from "../../src/connector/errors.js";
import { createConnectorClient, createTokenProvider } from "../../src/connector/factory.js";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { connector, http, start } from "../emulator/helpers.js";
import { CertificateFolder, type TestCertificate } from "../helpers/certificates.js";

/**
 * HERALD_APP_CERTIFICATE end to end: Herald signs a client assertion with the certificate's key
 * and gets a Connector token from the emulator's token endpoint over HTTP, which verifies the
 * assertion against the certificate registered for the app. The refusals are checked with
 * assertions signed here with jose directly (not Herald's code), each wrong in one way.
 */

const APP_ID = "4b0c7c2e-5f0a-4d7e-9d37-6a1f7c0e2b11";
const SCOPE = "https://api.botframework.com/.default";
const certs = new CertificateFolder();
const app: TestCertificate = certs.make();
const unregistered: TestCertificate = certs.make();
let emu: EmulatorHandle;
const agent = new Agent();

beforeAll(async () => {
  emu = await start({ appId: APP_ID, appCertificates: [{ certificate: app.certPem }] });
});
afterAll(async () => {
  await emu?.close();
  await agent.close();
  certs.remove();
});

function heraldConfig(certificate: TestCertificate) {
  return loadConfig({
    HERALD_APP_ID: APP_ID,
    HERALD_APP_TYPE: "MultiTenant",
    HERALD_APP_CERTIFICATE: certs.file(certificate.keyPem, certificate.certPem),
    HERALD_TOKEN_ENDPOINT: emu.tokenUrl,
    HERALD_TRUSTED_HOSTS: "127.0.0.1",
  });
}

function heraldTokens(certificate: TestCertificate) {
  return createTokenProvider(heraldConfig(certificate), { dispatcher: agent, clock: systemClock });
}

/** An assertion signed here with `key`, valid unless `change` makes it otherwise. */
async function assertion(
  key: TestCertificate,
  change: { aud?: string; iss?: string; iat?: number; x5t?: string; header?: Record<string, string>; tokenUrl?: string } = {},
) {
  const now = change.iat ?? Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "RS256", typ: "JWT", ...(change.header ?? { x5t: change.x5t ?? key.x5t }) })
    .setAudience(change.aud ?? change.tokenUrl ?? emu.tokenUrl)
    .setIssuer(change.iss ?? APP_ID)
    .setSubject(APP_ID)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 600)
    .sign(createPrivateKey(key.keyPem));
}

async function grant(clientAssertion: string, tokenUrl = emu.tokenUrl) {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: APP_ID,
    client_assertion_type: clientAssertionType,
    client_assertion: clientAssertion,
    scope: SCOPE,
  }).toString();
  return http("POST", tokenUrl, body, { "content-type": "application/x-www-form-urlencoded" });
}

describe("certificate credentials against the emulator's token endpoint", () => {
  it("gets a Connector token with a signed assertion, and the Connector accepts it", async () => {
    const token = await heraldTokens(app).getToken();
    expect(token).toBeTypeOf("string");
    expect(decodeJwt(token ?? "")).toMatchObject({ appid: APP_ID, aud: "https://api.botframework.com" });
    const conversation = emu.org.personalConversationId(0);
    const sent = await connector(emu, token).post(`v3/conversations/${encodeURIComponent(conversation)}/activities`, {
      type: "message",
      text: "signed with a certificate",
    });
    expect(sent.status).toBe(201);
  });

  it("sends through Herald's Connector client configured with only the certificate", async () => {
    const client = createConnectorClient(heraldConfig(app), { clock: systemClock });
    try {
      const sent = await client.sendToConversation(emu.connectorUrl, emu.org.personalConversationId(1), { type: "message", text: "hello" });
      expect(sent.id).toBeTruthy();
    } finally {
      await client.close();
    }
  });

  it("sends what RFC 7523 and Entra ask for: x5t of the certificate, aud = token endpoint, iss = sub = app id, jti, 10 minutes", async () => {
    const { signClientAssertion } = await import("../../src/connector/client-assertion.js");
    const { readAppCertificate } = await import("../../src/config/certificate.js");
    const now = Date.now();
    const jwt = await signClientAssertion({
      certificate: readAppCertificate(certs.file(app.keyPem, app.certPem)),
      clientId: APP_ID,
      audience: emu.tokenUrl,
      now,
    });
    // x5t compared with the fingerprint openssl prints, not with Herald's own computation.
    expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: "RS256", typ: "JWT", x5t: app.x5t });
    const claims = decodeJwt(jwt);
    const nbf = Math.floor(now / 1000);
    expect(claims).toMatchObject({ aud: emu.tokenUrl, iss: APP_ID, sub: APP_ID, nbf, iat: nbf, exp: nbf + 600 });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses Herald when its certificate is not the one registered for the app", async () => {
    const failure = await heraldTokens(unregistered)
      .getToken()
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ConnectorError);
    expect(failure).toMatchObject({ status: 401, code: "invalid_client" });
    expect(String((failure as ConnectorError).message)).toMatch(/AADSTS700027/);
  });

  it("accepts a well-formed assertion signed elsewhere (so the refusals below are each for their one fault)", async () => {
    const ok = await grant(await assertion(app));
    expect(ok.status).toBe(200);
  });

  it("finds the certificate by x5t#S256 alone, with a PS256 signature", async () => {
    // The SHA-256 thumbprint as Node's X509Certificate prints it (hex), not the emulator's computation.
    const s256 = Buffer.from(new X509Certificate(app.certPem).fingerprint256.replace(/:/g, ""), "hex").toString("base64url");
    const ok = await grant(await assertion(app, { header: { alg: "PS256", "x5t#S256": s256 } }));
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    // The same header naming a certificate that is not registered is refused: the lookup used the thumbprint.
    const other = Buffer.from(new X509Certificate(unregistered.certPem).fingerprint256.replace(/:/g, ""), "hex").toString("base64url");
    const refused = await grant(await assertion(app, { header: { alg: "PS256", "x5t#S256": other } }));
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ error: "invalid_client", error_description: expect.stringMatching(/AADSTS700027/) });
  });

  it("registers every certificate of a chain file, so the app's own need not come first", async () => {
    const chained = await start({ appId: APP_ID, appCertificates: [{ certificate: `${unregistered.certPem}\n${app.certPem}` }] });
    try {
      const ok = await grant(await assertion(app, { tokenUrl: chained.tokenUrl }), chained.tokenUrl);
      expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    } finally {
      await chained.close();
    }
  });

  it("refuses a bad signature, a wrong audience, an expired assertion and a wrong issuer", async () => {
    const forged = await grant(await assertion(unregistered, { x5t: app.x5t }));
    expect(forged.status).toBe(401);
    expect(forged.json).toMatchObject({
      error: "invalid_client",
      error_description: expect.stringMatching(/AADSTS700027.*invalid signature/),
    });

    const aud = await grant(await assertion(app, { aud: "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token" }));
    expect(aud.status).toBe(401);
    expect(aud.json.error_description).toMatch(/AADSTS50013: Assertion audience/);

    const expired = await grant(await assertion(app, { iat: Math.floor(Date.now() / 1000) - 3600 }));
    expect(expired.status).toBe(401);
    expect(expired.json.error_description).toMatch(/AADSTS700024/);

    const iss = await grant(await assertion(app, { iss: "someone-else" }));
    expect(iss.status).toBe(401);
    expect(iss.json.error_description).toMatch(/AADSTS700021/);

    const unknownKey = await grant(await assertion(unregistered));
    expect(unknownKey.status).toBe(401);
    expect(unknownKey.json.error_description).toMatch(/AADSTS700027.*key was not found/);
  });
});
