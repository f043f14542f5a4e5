import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clockSkewSeconds } from "../../src/inbound/auth/claims.js";
import { createSigningKeys, type SigningKeys, signActivityToken } from "../../src/inbound/auth/signing.js";
import { VerifiedTokenCache } from "../../src/inbound/auth/token-cache.js";
import { createInboundVerifier, type InboundVerifier } from "../../src/inbound/auth/verifier.js";
import { APP_ID, bearer, ISSUER, ManualClock, type OpenIdServer, SERVICE_URL, startOpenIdServer, TEAMS } from "./support.js";

// The verified-token cache (bench/invokes.js: the RSA check once per token, not per activity) must
// never make the verifier accept what it would refuse without it.
let server: OpenIdServer;
let key: SigningKeys;
const clock = new ManualClock();
let verifier: InboundVerifier;

beforeAll(async () => {
  key = await createSigningKeys({ kid: "teams-key", endorsements: ["msteams"] });
  server = await startOpenIdServer([key]);
  verifier = createInboundVerifier({ appId: APP_ID, issuer: ISSUER, openIdMetadataUrl: server.metadataUrl, clock });
});
afterAll(() => server.close());

const sign = (lifetimeSeconds = 3600) =>
  signActivityToken({
    key: key.privateKey,
    kid: key.kid,
    issuer: ISSUER,
    audience: APP_ID,
    serviceUrl: SERVICE_URL,
    lifetimeSeconds,
    now: clock.now(),
  });

describe("verified tokens are cached, every check but the signature still runs", () => {
  it("refuses a cached token once it has expired", async () => {
    const t = await sign(600);
    expect((await verifier.verify(bearer(t), TEAMS)).ok).toBe(true);
    expect((await verifier.verify(bearer(t), TEAMS)).ok).toBe(true);
    clock.advance((600 + clockSkewSeconds + 1) * 1000);
    expect(await verifier.verify(bearer(t), TEAMS)).toMatchObject({ ok: false, code: "HERALD_E_AUTH_EXPIRED" });
  });

  it("refuses a different token that shares a cached token's header and payload (forged signature)", async () => {
    const t = await sign();
    expect((await verifier.verify(bearer(t), TEAMS)).ok).toBe(true);
    const [h, p, s] = t.split(".") as [string, string, string];
    // Same prefix, one signature character changed (a base64url letter other than the original).
    const last = s.at(-2) === "A" ? "B" : "A";
    const forged = `${h}.${p}.${s.slice(0, -2)}${last}${s.at(-1)}`;
    expect(forged).not.toBe(t);
    expect(await verifier.verify(bearer(forged), TEAMS)).toMatchObject({ ok: false, code: "HERALD_E_AUTH_SIGNATURE" });
    // ... and the genuine token is still accepted.
    expect((await verifier.verify(bearer(t), TEAMS)).ok).toBe(true);
  });

  it("still checks the serviceurl and the channel endorsement of a cached token on every activity", async () => {
    const t = await sign();
    expect((await verifier.verify(bearer(t), TEAMS)).ok).toBe(true);
    expect(await verifier.verify(bearer(t), { ...TEAMS, serviceUrl: "https://evil.example/teams/" })).toMatchObject({
      ok: false,
      code: "HERALD_E_AUTH_SERVICEURL",
    });
    expect(await verifier.verify(bearer(t), { ...TEAMS, channelId: "webchat" })).toMatchObject({
      ok: false,
      code: "HERALD_E_AUTH_ENDORSEMENT",
    });
  });
});

describe("VerifiedTokenCache", () => {
  const payload = (exp: number) => ({ exp });
  it("keys by the exact token string", () => {
    const cache = new VerifiedTokenCache(10);
    cache.set("aaa.bbb.ccc", { key: {} as never, payload: payload(2_000) }, 0);
    expect(cache.get("aaa.bbb.ccc", 0)).toBeDefined();
    expect(cache.get("aaa.bbb.cc", 0)).toBeUndefined();
    expect(cache.get("aaa.bbb.ccd", 0)).toBeUndefined();
  });
  it("drops a token past its exp plus the clock skew, and never stores one already expired", () => {
    const cache = new VerifiedTokenCache(10);
    const k = {} as never;
    cache.set("t1", { key: k, payload: payload(100) }, 0);
    expect(cache.get("t1", (100 + clockSkewSeconds) * 1000 - 1)).toBeDefined();
    expect(cache.get("t1", (100 + clockSkewSeconds) * 1000)).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set("t2", { key: k, payload: payload(100) }, (100 + clockSkewSeconds) * 1000);
    cache.set("t3", { key: k, payload: {} }, 0);
    expect(cache.size).toBe(0);
  });
  it("is bounded: past maxEntries the least recently used token goes", () => {
    const cache = new VerifiedTokenCache(2);
    const k = {} as never;
    cache.set("a", { key: k, payload: payload(1_000) }, 0);
    cache.set("b", { key: k, payload: payload(1_000) }, 0);
    expect(cache.get("a", 0)).toBeDefined(); // a is now the most recent
    cache.set("c", { key: k, payload: payload(1_000) }, 0);
    expect(cache.size).toBe(2);
    expect(cache.get("b", 0)).toBeUndefined();
    expect(cache.get("a", 0)).toBeDefined();
    expect(cache.get("c", 0)).toBeDefined();
  });
});
