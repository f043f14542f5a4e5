import { createHmac } from "node:crypto";
import { CompactSign, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningKeys, type SigningKeys, signActivityToken } from "../../src/inbound/auth/signing.js";
import { createInboundVerifier, type InboundVerifier } from "../../src/inbound/auth/verifier.js";
import { APP_ID, bearer, ISSUER, ManualClock, type OpenIdServer, SERVICE_URL, startOpenIdServer, TEAMS } from "./support.js";

let server: OpenIdServer;
let teamsKey: SigningKeys; // endorsed for msteams
let plainKey: SigningKeys; // no endorsements field
let otherKey: SigningKeys; // never published
const clock = new ManualClock();
let verifier: InboundVerifier;

beforeAll(async () => {
  [teamsKey, plainKey, otherKey] = await Promise.all([
    createSigningKeys({ kid: "teams-key", endorsements: ["msteams"] }),
    createSigningKeys({ kid: "plain-key" }),
    createSigningKeys({ kid: "other-key" }),
  ]);
  server = await startOpenIdServer([teamsKey, plainKey]);
  verifier = createInboundVerifier({ appId: APP_ID, issuer: ISSUER, openIdMetadataUrl: server.metadataUrl, clock });
});
afterAll(() => server.close());

/** A Connector-shaped token; `claims` overrides or (with undefined) removes claims. */
async function token(options: { key?: SigningKeys; kid?: string; alg?: string; claims?: Record<string, unknown> } = {}): Promise<string> {
  const key = options.key ?? teamsKey;
  const nbf = Math.floor(clock.now() / 1000);
  const claims: Record<string, unknown> = { serviceurl: SERVICE_URL, nbf, exp: nbf + 3600, iss: ISSUER, aud: APP_ID, ...options.claims };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? "RS256", kid: options.kid ?? key.kid, typ: "JWT" })
    .sign(key.privateKey);
}

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

describe("a genuine Connector token", () => {
  it("is accepted, with its claims", async () => {
    const t = await signActivityToken({
      key: teamsKey.privateKey,
      kid: teamsKey.kid,
      issuer: ISSUER,
      audience: APP_ID,
      serviceUrl: SERVICE_URL,
      lifetimeSeconds: 3600,
      now: clock.now(),
    });
    const result = await verifier.verify(bearer(t), TEAMS);
    expect(result).toMatchObject({
      ok: true,
      claims: {
        issuer: ISSUER,
        audience: APP_ID,
        serviceUrl: SERVICE_URL,
        keyId: "teams-key",
        expiresAt: Math.floor(clock.now() / 1000) + 3600,
      },
    });
  });

  it("is accepted with RS384 and RS512, and with a lowercase scheme", async () => {
    for (const alg of ["RS384", "RS512"] as const) {
      const t = await signActivityToken({
        key: teamsKey.privateKey,
        kid: teamsKey.kid,
        issuer: ISSUER,
        audience: APP_ID,
        serviceUrl: SERVICE_URL,
        lifetimeSeconds: 3600,
        now: clock.now(),
        alg,
      });
      expect((await verifier.verify(bearer(t), TEAMS)).ok).toBe(true);
    }
    expect((await verifier.verify(`bearer ${await token()}`, TEAMS)).ok).toBe(true);
  });
});

describe("forged or wrong tokens are refused", () => {
  const cases: [string, () => Promise<string>, number, string][] = [
    ["signed by another key under a published kid", () => token({ key: otherKey, kid: teamsKey.kid }), 401, "HERALD_E_AUTH_SIGNATURE"],
    ["signed by another key under an unknown kid", () => token({ key: otherKey }), 401, "HERALD_E_AUTH_SIGNATURE"],
    ["from another issuer", () => token({ claims: { iss: "https://sts.windows.net/evil/" } }), 401, "HERALD_E_AUTH_ISSUER"],
    ["from an issuer differing by a trailing slash", () => token({ claims: { iss: `${ISSUER}/` } }), 401, "HERALD_E_AUTH_ISSUER"],
    ["without an issuer", () => token({ claims: { iss: undefined } }), 401, "HERALD_E_AUTH_ISSUER"],
    ["for another bot", () => token({ claims: { aud: "11111111-1111-1111-1111-111111111111" } }), 401, "HERALD_E_AUTH_AUDIENCE"],
    ["without an audience", () => token({ claims: { aud: undefined } }), 401, "HERALD_E_AUTH_AUDIENCE"],
    [
      "expired beyond the 5 minute skew",
      () => token({ claims: { nbf: undefined, exp: Math.floor(clock.now() / 1000) - 301 } }),
      401,
      "HERALD_E_AUTH_EXPIRED",
    ],
    [
      "expired exactly 5 minutes ago",
      () => token({ claims: { nbf: undefined, exp: Math.floor(clock.now() / 1000) - 300 } }),
      401,
      "HERALD_E_AUTH_EXPIRED",
    ],
    [
      "not valid for another 6 minutes",
      () => token({ claims: { nbf: Math.floor(clock.now() / 1000) + 360 } }),
      401,
      "HERALD_E_AUTH_NOT_YET_VALID",
    ],
    ["without exp", () => token({ claims: { exp: undefined } }), 401, "HERALD_E_AUTH_MALFORMED"],
    ["for another serviceUrl", () => token({ claims: { serviceurl: "https://evil.example.com/teams/" } }), 401, "HERALD_E_AUTH_SERVICEURL"],
    [
      "for a serviceUrl with another path",
      () => token({ claims: { serviceurl: "https://smba.trafficmanager.net/amer/" } }),
      401,
      "HERALD_E_AUTH_SERVICEURL",
    ],
    [
      "for a serviceUrl differing in case",
      () => token({ claims: { serviceurl: SERVICE_URL.toUpperCase() } }),
      401,
      "HERALD_E_AUTH_SERVICEURL",
    ],
    ["without a serviceurl claim", () => token({ claims: { serviceurl: undefined } }), 401, "HERALD_E_AUTH_SERVICEURL"],
    [
      "with serviceurl right but serviceUrl wrong",
      () => token({ claims: { serviceUrl: "https://evil.example.com/" } }),
      401,
      "HERALD_E_AUTH_SERVICEURL",
    ],
    [
      "with alg none",
      async () => `${b64({ alg: "none", kid: teamsKey.kid, typ: "JWT" })}.${b64(JSON.parse(b64Payload(await token())))}.`,
      401,
      "HERALD_E_AUTH_ALGORITHM",
    ],
    [
      "with HS256 keyed by the public key (algorithm confusion)",
      async () => {
        const signingInput = `${b64({ alg: "HS256", kid: teamsKey.kid, typ: "JWT" })}.${b64Payload(await token(), true)}`;
        const secret = JSON.stringify(teamsKey.publicJwk);
        return `${signingInput}.${createHmac("sha256", secret).update(signingInput).digest("base64url")}`;
      },
      401,
      "HERALD_E_AUTH_ALGORITHM",
    ],
    ["with PS256 (not an algorithm the Connector uses)", () => token({ alg: "PS256" }), 401, "HERALD_E_AUTH_ALGORITHM"],
    [
      "with a payload altered after signing",
      async () => {
        const [h, , s] = (await token()).split(".");
        const nbf = Math.floor(clock.now() / 1000);
        return `${h}.${b64({ serviceurl: SERVICE_URL, nbf, exp: nbf + 3600, iss: ISSUER, aud: "someone-else" })}.${s}`;
      },
      401,
      "HERALD_E_AUTH_SIGNATURE",
    ],
    [
      "without a kid",
      async () => new SignJWT({ iss: ISSUER }).setProtectedHeader({ alg: "RS256" }).sign(teamsKey.privateKey),
      401,
      "HERALD_E_AUTH_MALFORMED",
    ],
    [
      "with a signed payload that is not JSON",
      () =>
        new CompactSign(new TextEncoder().encode("not json"))
          .setProtectedHeader({ alg: "RS256", kid: teamsKey.kid })
          .sign(teamsKey.privateKey),
      401,
      "HERALD_E_AUTH_MALFORMED",
    ],
  ];
  it.each(cases)("%s", async (_name, make, status, code) => {
    const result = await verifier.verify(bearer(await make()), TEAMS);
    expect(result).toMatchObject({ ok: false, status, code });
    if (!result.ok) expect(result.reason.length).toBeGreaterThan(10);
  });
});

/** The payload segment of a token (decoded unless `raw`). */
function b64Payload(jwt: string, raw = false): string {
  const segment = jwt.split(".")[1]!;
  return raw ? segment : Buffer.from(segment, "base64url").toString("utf8");
}

describe("clock skew and serviceUrl tolerance", () => {
  it("accepts a token that expired 4 minutes ago or starts in 4 minutes (within 5 minutes of skew)", async () => {
    const now = Math.floor(clock.now() / 1000);
    expect((await verifier.verify(bearer(await token({ claims: { nbf: undefined, exp: now - 240 } })), TEAMS)).ok).toBe(true);
    expect((await verifier.verify(bearer(await token({ claims: { nbf: now + 240 } })), TEAMS)).ok).toBe(true);
  });

  it("measures lifetimes with the injected clock", async () => {
    const t = await token();
    clock.advance(3600_000 + 299_000);
    expect((await verifier.verify(bearer(t), TEAMS)).ok).toBe(true);
    clock.advance(2_000);
    expect(await verifier.verify(bearer(t), TEAMS)).toMatchObject({ ok: false, code: "HERALD_E_AUTH_EXPIRED" });
    clock.advance(-(3600_000 + 301_000));
  });

  it("tolerates only a trailing slash difference, and reads a camel-case serviceUrl claim", async () => {
    const noSlash = SERVICE_URL.replace(/\/$/, "");
    expect((await verifier.verify(bearer(await token({ claims: { serviceurl: noSlash } })), TEAMS)).ok).toBe(true);
    expect((await verifier.verify(bearer(await token()), { ...TEAMS, serviceUrl: noSlash })).ok).toBe(true);
    expect((await verifier.verify(bearer(await token({ claims: { serviceurl: undefined, serviceUrl: SERVICE_URL } })), TEAMS)).ok).toBe(
      true,
    );
    const twoSlashes = await token({ claims: { serviceurl: `${SERVICE_URL}/` } });
    expect(await verifier.verify(bearer(twoSlashes), { ...TEAMS, serviceUrl: noSlash })).toMatchObject({
      code: "HERALD_E_AUTH_SERVICEURL",
    });
  });
});

describe("endorsements (check 6)", () => {
  it("refuses with 403 a key not endorsed for the activity's channel", async () => {
    const result = await verifier.verify(bearer(await token()), { ...TEAMS, channelId: "webchat" });
    expect(result).toMatchObject({ ok: false, status: 403, code: "HERALD_E_AUTH_ENDORSEMENT" });
  });

  it("accepts an endorsed channel, and any channel for a key without endorsements", async () => {
    expect((await verifier.verify(bearer(await token()), TEAMS)).ok).toBe(true);
    expect((await verifier.verify(bearer(await token({ key: plainKey })), { ...TEAMS, channelId: "webchat" })).ok).toBe(true);
  });
});

describe("malformed Authorization headers", () => {
  it.each([
    [undefined, "HERALD_E_AUTH_MISSING"],
    ["", "HERALD_E_AUTH_MISSING"],
    ["Bearer", "HERALD_E_AUTH_MALFORMED"],
    ["Bearer ", "HERALD_E_AUTH_MALFORMED"],
    ["Basic dXNlcjpwYXNz", "HERALD_E_AUTH_MALFORMED"],
    ["Bearer garbage", "HERALD_E_AUTH_MALFORMED"],
    ["Bearer a.b.c", "HERALD_E_AUTH_MALFORMED"],
    [`Bearer ${b64("[1]")}.${b64({})}.x`, "HERALD_E_AUTH_MALFORMED"],
    ["Bearer x.y.z extra", "HERALD_E_AUTH_MALFORMED"],
    [`Bearer ${"a".repeat(20_000)}.b.c`, "HERALD_E_AUTH_MALFORMED"],
    ["\u0000\u0001", "HERALD_E_AUTH_MALFORMED"],
  ])("%j → %s", async (header, code) => {
    expect(await verifier.verify(header, TEAMS)).toMatchObject({ ok: false, status: 401, code });
  });

  it("never puts the token in the reason", async () => {
    const t = await token({ claims: { aud: "someone-else" } });
    const result = await verifier.verify(bearer(t), TEAMS);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).not.toContain(t.split(".")[2]!);
  });
});
