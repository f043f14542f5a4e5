import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { createSigningKeys, type SigningKeys, signActivityToken } from "../../src/inbound/auth/signing.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { APP_ID, alice, personalConversation, personalInstall, personalMessage, SERVICE_URL } from "../helpers/activities.js";
import { forEachStore } from "../helpers/stores.js";
import { ISSUER, type OpenIdServer, startOpenIdServer } from "../inbound-auth/support.js";

const API_KEY = "test-admin-key-0123456789";

forEachStore((stores) => {
  let keys: SigningKeys;
  let other: SigningKeys;
  let openid: OpenIdServer;
  let herald: Herald;

  beforeAll(async () => {
    keys = await createSigningKeys({ kid: "k1", endorsements: ["msteams"] });
    other = await createSigningKeys({ kid: "k1", endorsements: ["msteams"] });
    openid = await startOpenIdServer([keys]);
    const config = loadConfig({
      HERALD_APP_ID: APP_ID,
      HERALD_OPENID_METADATA_URL: openid.metadataUrl,
      HERALD_API_KEY: API_KEY,
      HERALD_TRUSTED_HOSTS: "127.0.0.1",
    });
    herald = await createHerald(config, { logger: silentLogger, store: await stores.open() });
  });
  afterAll(async () => {
    await herald?.close();
    await openid?.close();
  });

  const token = (overrides: Partial<Parameters<typeof signActivityToken>[0]> = {}) =>
    signActivityToken({
      key: keys.privateKey,
      kid: "k1",
      issuer: ISSUER,
      audience: APP_ID,
      serviceUrl: SERVICE_URL,
      lifetimeSeconds: 3600,
      now: Date.now(),
      ...overrides,
    });

  async function post(body: unknown, authorization?: string, raw?: string) {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (authorization) headers["authorization"] = authorization;
    return herald.fetch(new Request("http://herald.test/api/messages", { method: "POST", headers, body: raw ?? JSON.stringify(body) }));
  }

  async function stored(id: string) {
    return herald.store.conversations.get(id);
  }

  it("accepts a correctly signed install and stores the reference", async () => {
    const [install] = personalInstall(alice);
    const res = await post(install, `Bearer ${await token()}`);
    expect(res.status).toBe(200);
    expect((await stored(personalConversation(alice).id as string))?.status).toBe("active");
  });

  describe("refuses forged or broken tokens and stores nothing", () => {
    const cases: [string, () => Promise<string | undefined>, number, string][] = [
      ["no token", async () => undefined, 401, "HERALD_E_AUTH_MISSING"],
      [
        "signed by another key with the same kid",
        async () =>
          `Bearer ${await signActivityToken({ key: other.privateKey, kid: "k1", issuer: ISSUER, audience: APP_ID, serviceUrl: SERVICE_URL, lifetimeSeconds: 3600, now: Date.now() })}`,
        401,
        "HERALD_E_AUTH_SIGNATURE",
      ],
      ["wrong issuer", async () => `Bearer ${await token({ issuer: "https://evil.example.com" })}`, 401, "HERALD_E_AUTH_ISSUER"],
      ["wrong audience", async () => `Bearer ${await token({ audience: "someone-else" })}`, 401, "HERALD_E_AUTH_AUDIENCE"],
      ["expired", async () => `Bearer ${await token({ now: Date.now() - 2 * 3600_000 })}`, 401, "HERALD_E_AUTH_EXPIRED"],
      [
        "serviceurl mismatch",
        async () => `Bearer ${await token({ serviceUrl: "http://127.0.0.1:9/emea/" })}`,
        401,
        "HERALD_E_AUTH_SERVICEURL",
      ],
      [
        "alg none",
        async () => {
          const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
          const now = Math.floor(Date.now() / 1000);
          return `Bearer ${enc({ alg: "none", typ: "JWT" })}.${enc({ iss: ISSUER, aud: APP_ID, serviceurl: "https://smba.trafficmanager.net/teams/", exp: now + 3600, nbf: now })}.`;
        },
        401,
        "HERALD_E_AUTH_ALGORITHM",
      ],
    ];
    it.each(cases)("%s → %i", async (_name, auth, status, code) => {
      const [install] = personalInstall({ id: `29:forged-${code}`, name: "Mallory", aadObjectId: "aad-m" });
      const res = await post(install, await auth());
      expect(res.status).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(code);
      expect(await stored(`a:chat-forged-${code}`)).toBeUndefined();
    });

    it("a channel the key does not endorse → 403", async () => {
      const [install] = personalInstall({ id: "29:endorse", name: "E", aadObjectId: "aad-e" }, { channelId: "webchat" });
      const res = await post(install, `Bearer ${await token()}`);
      expect(res.status).toBe(403);
      expect(await stored("a:chat-endorse")).toBeUndefined();
    });
  });

  it("refuses an untrusted serviceUrl even with a valid token, and stores nothing", async () => {
    const evil = "https://evil.example.com/teams/";
    const [install] = personalInstall({ id: "29:evil", name: "Eve", aadObjectId: "aad-eve" }, { serviceUrl: evil });
    const res = await post(install, `Bearer ${await token({ serviceUrl: evil })}`);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("HERALD_E_UNTRUSTED_SERVICE_URL");
    expect(await stored("a:chat-evil")).toBeUndefined();
  });

  it("answers 400 with a reason for malformed JSON and missing fields, 413 for oversized bodies", async () => {
    const auth = `Bearer ${await token()}`;
    const bad = await post(undefined, auth, "{not json");
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toMatch(/not valid JSON/);
    const { conversation: _c, ...noConversation } = personalMessage(alice, "hi");
    const missing = await post(noConversation, auth);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/conversation/);
    const huge = await post(undefined, auth, JSON.stringify({ ...personalMessage(alice, "x".repeat(300 * 1024)) }));
    expect(huge.status).toBe(413);
  });

  it("answers 200 to activity types it does not use", async () => {
    const res = await post({ ...personalMessage(alice, ""), type: "messageReaction" }, `Bearer ${await token()}`);
    expect(res.status).toBe(200);
  });

  it("lists what it knows through GET /v1/conversations with the API key", async () => {
    const unauth = await herald.fetch(new Request("http://herald.test/v1/conversations"));
    expect(unauth.status).toBe(401);
    const wrong = await herald.fetch(
      new Request("http://herald.test/v1/conversations", { headers: { authorization: "Bearer wrong-key-wrong-key" } }),
    );
    expect(wrong.status).toBe(401);
    const res = await herald.fetch(
      new Request("http://herald.test/v1/conversations?kind=personal&status=active&limit=10", {
        headers: { authorization: `Bearer ${API_KEY}` },
      }),
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { items: { id: string }[] };
    expect(body.items.map((i) => i.id)).toContain(personalConversation(alice).id);
    const badQuery = await herald.fetch(
      new Request("http://herald.test/v1/conversations?kind=robot", { headers: { authorization: `Bearer ${API_KEY}` } }),
    );
    expect(badQuery.status).toBe(400);
    expect(((await badQuery.json()) as { error: { message: string } }).error.message).toMatch(/kind/);
  });

  it("serves health, readiness and metrics", async () => {
    expect((await herald.fetch(new Request("http://herald.test/healthz"))).status).toBe(200);
    expect((await herald.fetch(new Request("http://herald.test/readyz"))).status).toBe(200);
    const metrics = await (await herald.fetch(new Request("http://herald.test/metrics"))).text();
    expect(metrics).toMatch(/herald_inbound_activities_total\{result="ok",type="installationUpdate"\} \d+/);
    expect(metrics).toMatch(/herald_inbound_activities_total\{result="rejected",type="installationUpdate"\} \d+/);
    for (const name of [
      "herald_send_duration_seconds",
      "herald_deliveries_total",
      "herald_queue_depth",
      "herald_delivery_retries_total",
      "herald_connector_throttled_total",
      "herald_token_refreshes_total",
      "herald_api_requests_total",
    ]) {
      expect(metrics).toContain(`# TYPE ${name}`);
    }
  });
});
