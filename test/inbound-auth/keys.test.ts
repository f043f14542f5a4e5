import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { createSigningKeys, type SigningKeys, signActivityToken } from "../../src/inbound/auth/signing.js";
import { createInboundVerifier, type InboundVerifierOptions } from "../../src/inbound/auth/verifier.js";
import {
  APP_ID,
  bearer,
  deadUrl,
  ISSUER,
  ManualClock,
  type OpenIdServer,
  recordingLogger,
  SERVICE_URL,
  startOpenIdServer,
  TEAMS,
  waitFor,
} from "./support.js";

const HOUR = 3600_000;
const DAY = 24 * HOUR;

let keyA: SigningKeys;
let keyB: SigningKeys;
const servers: OpenIdServer[] = [];

beforeAll(async () => {
  [keyA, keyB] = await Promise.all([
    createSigningKeys({ kid: "key-a", endorsements: ["msteams"] }),
    createSigningKeys({ kid: "key-b", endorsements: ["msteams"] }),
  ]);
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A fresh server, clock and verifier per test: each test owns its cache and counters. */
async function setup(keys: SigningKeys[] = [keyA], options: Partial<InboundVerifierOptions> = {}) {
  const server = await startOpenIdServer(keys);
  servers.push(server);
  const clock = new ManualClock();
  const log = recordingLogger();
  const verifier = createInboundVerifier({
    appId: APP_ID,
    issuer: ISSUER,
    openIdMetadataUrl: server.metadataUrl,
    clock,
    logger: log.logger,
    ...options,
  });
  const sign = (key: SigningKeys) =>
    signActivityToken({
      key: key.privateKey,
      kid: key.kid,
      issuer: ISSUER,
      audience: APP_ID,
      serviceUrl: SERVICE_URL,
      lifetimeSeconds: 3600,
      now: clock.now(),
    });
  const verify = async (key: SigningKeys) => verifier.verify(bearer(await sign(key)), TEAMS);
  return { server, clock, log, verifier, verify };
}

describe("caching of the metadata and keys", () => {
  it("fetches each document once for many verifications, concurrent ones included", async () => {
    const { server, verifier, clock } = await setup();
    const t = await signActivityToken({
      key: keyA.privateKey,
      kid: keyA.kid,
      issuer: ISSUER,
      audience: APP_ID,
      serviceUrl: SERVICE_URL,
      lifetimeSeconds: 3600,
      now: clock.now(),
    });
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => verifier.verify(bearer(t), TEAMS)));
    expect(concurrent.every((r) => r.ok)).toBe(true);
    for (let i = 0; i < 30; i++) {
      clock.advance(60_000);
      expect((await verifier.verify(bearer(t), TEAMS)).ok).toBe(true);
    }
    expect(server.counts).toEqual({ metadata: 1, jwks: 1 });
  });

  it("refreshes once the keys are a day old", async () => {
    const { server, clock, verify } = await setup();
    expect((await verify(keyA)).ok).toBe(true);
    clock.advance(DAY - 1);
    expect((await verify(keyA)).ok).toBe(true);
    expect(server.counts.jwks).toBe(1);
    clock.advance(1);
    expect((await verify(keyA)).ok).toBe(true);
    expect(server.counts).toEqual({ metadata: 2, jwks: 2 });
  });

  it("drops a key the daily refresh no longer lists", async () => {
    const { server, clock, verify } = await setup([keyA, keyB]);
    expect((await verify(keyA)).ok).toBe(true);
    server.setKeys([keyB]);
    clock.advance(DAY);
    expect(await verify(keyA)).toMatchObject({ ok: false, code: "HERALD_E_AUTH_SIGNATURE" });
    expect((await verify(keyB)).ok).toBe(true);
  });
});

describe("unknown kid", () => {
  it("refreshes at most once an hour", async () => {
    const { server, clock, verify } = await setup();
    expect((await verify(keyA)).ok).toBe(true);
    expect(server.counts.jwks).toBe(1);
    for (const step of [60_000, 30 * 60_000, 28 * 60_000]) {
      clock.advance(step);
      expect(await verify(keyB)).toMatchObject({ ok: false, status: 401, code: "HERALD_E_AUTH_SIGNATURE" });
    }
    expect(server.counts.jwks).toBe(1); // 59 minutes since the fetch
    clock.advance(60_000);
    expect(await verify(keyB)).toMatchObject({ ok: false, code: "HERALD_E_AUTH_SIGNATURE" });
    expect(server.counts).toEqual({ metadata: 2, jwks: 2 });
    await Promise.all([verify(keyB), verify(keyB), verify(keyB)]);
    expect(server.counts.jwks).toBe(2);
  });

  it("picks up a rotated key at the next allowed refresh", async () => {
    const { server, clock, verify } = await setup();
    expect((await verify(keyA)).ok).toBe(true);
    server.setKeys([keyA, keyB]);
    clock.advance(10 * 60_000);
    expect((await verify(keyB)).ok).toBe(false); // inside the hour: not fetched yet
    clock.advance(HOUR);
    expect((await verify(keyB)).ok).toBe(true);
    expect((await verify(keyA)).ok).toBe(true);
    expect(server.counts.jwks).toBe(2);
  });

  it("is picked up at once on a cold cache", async () => {
    const { server, verify } = await setup([keyA, keyB]);
    expect((await verify(keyB)).ok).toBe(true);
    expect(server.counts.jwks).toBe(1);
  });
});

describe("when the metadata endpoint fails", () => {
  it("refuses with KEYS_UNAVAILABLE and logs an error when nothing is cached", async () => {
    const log = recordingLogger();
    const clock = new ManualClock();
    const verifier = createInboundVerifier({
      appId: APP_ID,
      issuer: ISSUER,
      openIdMetadataUrl: await deadUrl(),
      clock,
      logger: log.logger,
    });
    const t = await signActivityToken({
      key: keyA.privateKey,
      kid: keyA.kid,
      issuer: ISSUER,
      audience: APP_ID,
      serviceUrl: SERVICE_URL,
      lifetimeSeconds: 3600,
      now: clock.now(),
    });
    const result = await verifier.verify(bearer(t), TEAMS);
    expect(result).toMatchObject({ ok: false, status: 401, code: "HERALD_E_AUTH_KEYS_UNAVAILABLE" });
    if (!result.ok) expect(result.reason).toContain("HERALD_OPENID_METADATA_URL");
    const errors = log.lines().filter((l) => l.level === 50);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: "HERALD_E_AUTH_KEYS_UNAVAILABLE" });
    expect(JSON.stringify(log.lines())).not.toContain(t);
  });

  it("backs off 10 s between failed attempts, then recovers", async () => {
    const { server, clock, verify } = await setup();
    server.setMode("error");
    expect(await verify(keyA)).toMatchObject({ code: "HERALD_E_AUTH_KEYS_UNAVAILABLE" });
    expect(await verify(keyA)).toMatchObject({ code: "HERALD_E_AUTH_KEYS_UNAVAILABLE" });
    expect(server.counts.metadata).toBe(1);
    server.setMode("up");
    clock.advance(9_999);
    expect((await verify(keyA)).ok).toBe(false);
    clock.advance(1);
    expect((await verify(keyA)).ok).toBe(true);
    expect(server.counts).toEqual({ metadata: 2, jwks: 1 });
  });

  it("keeps serving from the cache when a refresh fails, until the keys are 5 days old", async () => {
    const { server, clock, log, verify } = await setup();
    expect((await verify(keyA)).ok).toBe(true);
    server.setMode("drop");
    clock.advance(DAY);
    expect((await verify(keyA)).ok).toBe(true);
    expect(server.counts.metadata).toBe(2);
    expect(log.lines().some((l) => l.level === 40 && l.code === "HERALD_E_AUTH_KEYS_UNAVAILABLE")).toBe(true);
    // An unknown kid cannot be checked while the endpoint is down: say so rather than "bad signature".
    clock.advance(HOUR);
    expect(await verify(keyB)).toMatchObject({ code: "HERALD_E_AUTH_KEYS_UNAVAILABLE" });
    clock.advance(4 * DAY - HOUR - 1);
    expect((await verify(keyA)).ok).toBe(true);
    clock.advance(1);
    expect(await verify(keyA)).toMatchObject({ ok: false, code: "HERALD_E_AUTH_KEYS_UNAVAILABLE" });
    expect(log.lines().some((l) => l.level === 50)).toBe(true);
    server.setMode("up");
    clock.advance(10_000);
    expect((await verify(keyA)).ok).toBe(true);
  });

  it("keeps the cache when the JWKS comes back without usable keys", async () => {
    const { server, clock, verify } = await setup();
    expect((await verify(keyA)).ok).toBe(true);
    server.setKeys([]);
    clock.advance(DAY);
    expect((await verify(keyA)).ok).toBe(true);
    expect(server.counts.jwks).toBe(2);
  });

  it("gives up on a request that hangs after the timeout, measured by the injected clock", async () => {
    const { server, clock, verify } = await setup();
    server.setMode("hang");
    const pending = verify(keyA);
    await waitFor(() => server.counts.metadata === 1, "the metadata request");
    clock.advance(10_000);
    const result = await pending;
    expect(result).toMatchObject({ ok: false, code: "HERALD_E_AUTH_KEYS_UNAVAILABLE" });
    if (!result.ok) expect(result.reason).toContain("no answer within 10000 ms");
  });
});
