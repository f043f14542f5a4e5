import { describe, expect, it } from "vitest";
import { cacheUsable, type KeyCacheState, defaultKeyCachePolicy as policy, refreshReason } from "../../src/inbound/auth/cache-policy.js";
import { checkEndorsement, sameServiceUrl } from "../../src/inbound/auth/claims.js";
import { parseJwks, parseOpenIdMetadata } from "../../src/inbound/auth/openid.js";
import { createSigningKeys } from "../../src/inbound/auth/signing.js";

const HOUR = 3600_000;
const T = 1_000_000_000_000;
const fresh: KeyCacheState = { fetchedAt: T, lastAttemptAt: T, lastFailureAt: undefined };

describe("refreshReason", () => {
  it.each<[string, KeyCacheState, boolean, number, string | undefined]>([
    ["nothing cached", { fetchedAt: undefined, lastAttemptAt: undefined, lastFailureAt: undefined }, false, T, "empty"],
    ["fresh, known kid", fresh, true, T + HOUR, undefined],
    ["a day old", fresh, true, T + 24 * HOUR, "due"],
    ["clock went backwards", fresh, true, T - 1, "due"],
    ["unknown kid within the hour", fresh, false, T + HOUR - 1, undefined],
    ["unknown kid after an hour", fresh, false, T + HOUR, "unknown-kid"],
    [
      "unknown kid an hour after a failed attempt",
      { fetchedAt: T, lastAttemptAt: T + HOUR, lastFailureAt: T + HOUR },
      false,
      T + HOUR + 30_000,
      undefined,
    ],
    ["empty, 5 s after a failure", { fetchedAt: undefined, lastAttemptAt: T, lastFailureAt: T }, false, T + 5_000, undefined],
    ["empty, 10 s after a failure", { fetchedAt: undefined, lastAttemptAt: T, lastFailureAt: T }, false, T + 10_000, "empty"],
    [
      "due, 5 s after a failure",
      { fetchedAt: T, lastAttemptAt: T + 24 * HOUR, lastFailureAt: T + 24 * HOUR },
      true,
      T + 24 * HOUR + 5_000,
      undefined,
    ],
  ])("%s", (_name, state, kidKnown, now, expected) => {
    expect(refreshReason(state, kidKnown, now, policy)).toBe(expected);
  });

  it("keeps a failed cache usable for 5 days", () => {
    expect(cacheUsable(fresh, T + 5 * 24 * HOUR - 1, policy)).toBe(true);
    expect(cacheUsable(fresh, T + 5 * 24 * HOUR, policy)).toBe(false);
    expect(cacheUsable({ ...fresh, fetchedAt: undefined }, T, policy)).toBe(false);
  });
});

describe("serviceUrl and endorsement checks", () => {
  it.each([
    ["https://smba.trafficmanager.net/teams/", "https://smba.trafficmanager.net/teams/", true],
    ["https://smba.trafficmanager.net/teams", "https://smba.trafficmanager.net/teams/", true],
    ["https://smba.trafficmanager.net/teams//", "https://smba.trafficmanager.net/teams", false],
    ["https://SMBA.trafficmanager.net/teams/", "https://smba.trafficmanager.net/teams/", false],
    ["https://smba.trafficmanager.net:443/teams/", "https://smba.trafficmanager.net/teams/", false],
    ["http://smba.trafficmanager.net/teams/", "https://smba.trafficmanager.net/teams/", false],
    ["https://smba.trafficmanager.net/teams/?x", "https://smba.trafficmanager.net/teams/", false],
  ])("%s vs %s → %s", (a, b, same) => {
    expect(sameServiceUrl(a, b)).toBe(same);
  });

  it("endorsements: absent endorses all, a list endorses its members only, an empty list none", () => {
    expect(checkEndorsement(undefined, "msteams")).toBeUndefined();
    expect(checkEndorsement(["msteams", "webchat"], "webchat")).toBeUndefined();
    expect(checkEndorsement(["msteams"], "MSTEAMS")).toMatchObject({ status: 403, code: "HERALD_E_AUTH_ENDORSEMENT" });
    expect(checkEndorsement([], "msteams")).toMatchObject({ status: 403 });
  });
});

describe("OpenID documents", () => {
  it("reads a JWKS shaped like login.botframework.com's, skipping entries that cannot verify RS256", async () => {
    const { publicJwk } = await createSigningKeys({ kid: "real" });
    const parsed = parseJwks({
      keys: [
        { ...publicJwk, x5t: "abc", x5c: ["MIIC..."], endorsements: ["msteams", "skype", 7] },
        { kty: "EC", kid: "ec", crv: "P-256", x: "x", y: "y" },
        { kty: "RSA", kid: "enc", use: "enc", n: publicJwk.n, e: publicJwk.e },
        { kty: "RSA", n: publicJwk.n, e: publicJwk.e },
        { kty: "RSA", kid: "broken", n: "!!", e: "AQAB" },
        { kty: "RSA", kid: "odd-endorsements", n: publicJwk.n, e: publicJwk.e, endorsements: "msteams" },
        "junk",
      ],
    });
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect([...parsed.value.keys.keys()]).toEqual(["real", "odd-endorsements"]);
    expect(parsed.value.keys.get("real")!.endorsements).toEqual(["msteams", "skype"]);
    expect(parsed.value.keys.get("odd-endorsements")!.endorsements).toEqual([]);
    expect(parsed.value.skipped).toHaveLength(5);
  });

  it("refuses a JWKS without usable keys and metadata without an http(s) jwks_uri", () => {
    expect(parseJwks({ keys: [] }).ok).toBe(false);
    expect(parseJwks({}).ok).toBe(false);
    expect(parseJwks(null).ok).toBe(false);
    const url = "https://login.botframework.com/v1/.well-known/openidconfiguration";
    expect(parseOpenIdMetadata({ jwks_uri: "https://login.botframework.com/v1/.well-known/keys" }, url)).toEqual({
      ok: true,
      jwksUri: "https://login.botframework.com/v1/.well-known/keys",
    });
    expect(parseOpenIdMetadata({ jwks_uri: "keys" }, url)).toEqual({
      ok: true,
      jwksUri: "https://login.botframework.com/v1/.well-known/keys",
    });
    expect(parseOpenIdMetadata({ jwks_uri: "file:///etc/passwd" }, url).ok).toBe(false);
    expect(parseOpenIdMetadata({}, url).ok).toBe(false);
    expect(parseOpenIdMetadata("x", url).ok).toBe(false);
  });
});
