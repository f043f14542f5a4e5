/**
 * Token providers against a local token endpoint, with an injected clock: caching, refresh
 * before expiry, one request for many callers, failures that do not stick, managed identity,
 * and no credentials at all.
 */
import type { ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { clouds } from "../../src/config/clouds.js";
import { ConfigError } from "../../src/config/config.js";
import { trustedHosts } from "../../src/config/trusted-hosts.js";
import { clientCredentialsSource, tokenEndpointFor } from "../../src/connector/client-credentials.js";
import { ConnectorError } from "../../src/connector/errors.js";
import { createTokenProvider, type TokenConfig } from "../../src/connector/factory.js";
import { HttpConnectorClient } from "../../src/connector/http-client.js";
import { CachingTokenProvider, noCredentials, type TokenProvider } from "../../src/connector/tokens.js";
import { createHttpAgent } from "../../src/connector/transport.js";
import {
  deferred,
  eventually,
  type FakeClock,
  fakeClock,
  json,
  type Seen,
  startServer,
  type TestServer,
  tokenAnswer,
  until,
} from "./helpers/servers.js";

type Respond = (req: Seen, res: ServerResponse) => void | Promise<void>;

const APP_ID = "app-123";
const SECRET = "very-secret-password";
const HOUR = 3_600_000;
const MIN = 60_000;

let server: TestServer;
let issued = 0;
/** Answers queued by a test, used in order; after them, a fresh token valid for an hour. */
let script: Respond[] = [];
const agent = createHttpAgent({ headersTimeoutMs: 5_000 });

const nextToken = () => `tok-${++issued}`;

beforeAll(async () => {
  server = await startServer((req, res) => {
    const step = script.shift();
    if (step) return step(req, res);
    json(res, 200, tokenAnswer(nextToken(), 3600));
  });
});
afterEach(() => {
  script = [];
});
afterAll(async () => {
  await server.close();
  await agent.close();
});

function config(overrides: Partial<TokenConfig> = {}): TokenConfig {
  return {
    appId: APP_ID,
    appPassword: SECRET,
    appTenantId: "tenant-1",
    appType: "SingleTenant",
    cloud: "public",
    tokenEndpoint: `${server.url}/tenant-1/oauth2/v2.0/token`,
    ...overrides,
  };
}

function provider(clock: FakeClock, overrides: Partial<TokenConfig> = {}): TokenProvider {
  return createTokenProvider(config(overrides), { dispatcher: agent, clock });
}

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ConnectorError);
  return e as ConnectorError;
}

const posts = () => server.requests.length;

describe("client credentials", () => {
  it("posts the form to the endpoint and caches the token", async () => {
    const clock = fakeClock();
    const p = provider(clock);
    const before = posts();
    const first = await p.getToken();
    expect(await p.getToken()).toBe(first);
    clock.advance(30 * MIN);
    expect(await p.getToken()).toBe(first);
    expect(posts()).toBe(before + 1);
    const req = server.requests.at(-1)!;
    expect(req).toMatchObject({ method: "POST", url: "/tenant-1/oauth2/v2.0/token" });
    expect(req.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(new URLSearchParams(req.body))).toEqual({
      grant_type: "client_credentials",
      client_id: APP_ID,
      client_secret: SECRET,
      scope: "https://api.botframework.com/.default",
    });
  });

  it("asks for the configured cloud's Connector scope", async () => {
    await provider(fakeClock(), { cloud: "gcch" }).getToken();
    expect(new URLSearchParams(server.requests.at(-1)!.body).get("scope")).toBe("https://api.botframework.us/.default");
  });

  it("refreshes 5 minutes before expiry without making callers wait", async () => {
    const clock = fakeClock();
    const p = provider(clock);
    const before = posts();
    const first = await p.getToken();

    clock.advance(54 * MIN);
    expect(await p.getToken()).toBe(first);
    expect(posts()).toBe(before + 1);

    const held = deferred();
    script.push(async (_req, res) => {
      await held.promise;
      json(res, 200, tokenAnswer("tok-refreshed", 3600));
    });
    clock.advance(2 * MIN); // 56 min: inside the refresh window, the old token is still valid
    expect(await p.getToken()).toBe(first); // answered at once while the refresh is held
    await until(() => posts() === before + 2);
    expect(await p.getToken()).toBe(first); // the refresh in flight is not duplicated
    expect(posts()).toBe(before + 2);
    held.resolve();
    await eventually(
      () => p.getToken(),
      (t) => t === "tok-refreshed",
    );
    expect(posts()).toBe(before + 2);
  });

  it("makes callers wait for a new token once the old one is no longer usable", async () => {
    const clock = fakeClock();
    const p = provider(clock);
    const first = await p.getToken();
    const before = posts();
    clock.advance(HOUR);
    const second = await p.getToken();
    expect(second).not.toBe(first);
    expect(posts()).toBe(before + 1);
  });

  it("sends exactly one request for 50 concurrent callers", async () => {
    const held = deferred();
    script.push(async (_req, res) => {
      await held.promise;
      json(res, 200, tokenAnswer("tok-shared", 3600));
    });
    const p = provider(fakeClock());
    const before = posts();
    const all = Promise.all(Array.from({ length: 50 }, () => p.getToken()));
    await until(() => posts() === before + 1);
    held.resolve();
    const tokens = await all;
    expect(new Set(tokens)).toEqual(new Set(["tok-shared"]));
    expect(posts()).toBe(before + 1);
  });

  it("surfaces a failure to every waiting caller, remembers nothing, and recovers on the next call", async () => {
    script.push((_req, res) =>
      json(res, 503, { error: "temporarily_unavailable", error_description: "AADSTS90033: A transient error has occurred." }),
    );
    const p = provider(fakeClock());
    const before = posts();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => p.getToken()));
    expect(posts()).toBe(before + 1);
    for (const r of results) {
      expect(r.status).toBe("rejected");
      const e = (r as PromiseRejectedResult).reason as ConnectorError;
      expect(e).toBeInstanceOf(ConnectorError);
      expect(e).toMatchObject({
        source: "token",
        kind: "http",
        status: 503,
        code: "temporarily_unavailable",
        heraldCode: "HERALD_E_TOKEN",
        mayHaveArrived: false,
      });
    }
    const token = await p.getToken();
    expect(token).toMatch(/^tok-/);
    expect(await p.getToken()).toBe(token);
    expect(posts()).toBe(before + 2);
  });

  it("says which credential is wrong on invalid_client, without the secret", async () => {
    script.push((_req, res) =>
      json(res, 401, {
        error: "invalid_client",
        error_description: "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1\r\nCorrelation ID: 2",
        error_codes: [7000215],
      }),
    );
    const e = await failure(provider(fakeClock()).getToken());
    expect(e).toMatchObject({
      status: 401,
      code: "invalid_client",
      errorCode: 7000215,
      serverMessage: "AADSTS7000215: Invalid client secret provided.",
    });
    expect(e.message).toContain("HERALD_APP_PASSWORD");
    expect(e.message).not.toContain(SECRET);
  });

  it("keeps serving the old token when an early refresh fails, and retries after a pause", async () => {
    const clock = fakeClock();
    // Count settled requests so the test knows when the cache has seen the failure.
    let settled = 0;
    const source = clientCredentialsSource(
      { endpoint: config().tokenEndpoint!, clientId: APP_ID, clientSecret: SECRET, scope: "https://api.botframework.com/.default" },
      { dispatcher: agent, clock },
    );
    const p = new CachingTokenProvider(() => source().finally(() => settled++), { clock, endpoint: "test" });
    const first = await p.getToken();
    const before = posts();
    script.push((_req, res) => json(res, 500, { error: "server_error" }));
    clock.advance(56 * MIN);
    expect(await p.getToken()).toBe(first);
    await until(() => settled === 2);
    // The failed refresh is not retried at once...
    for (let i = 0; i < 5; i++) expect(await p.getToken()).toBe(first);
    expect(posts()).toBe(before + 1);
    // ...but 10 s later.
    clock.advance(11_000);
    expect(await p.getToken()).toBe(first);
    await until(() => settled === 3);
    expect(await p.getToken()).not.toBe(first);
    expect(posts()).toBe(before + 2);
  });

  it("lets one caller's abort stop only that caller", async () => {
    const held = deferred();
    script.push(async (_req, res) => {
      await held.promise;
      json(res, 200, tokenAnswer("tok-after-abort", 3600));
    });
    const p = provider(fakeClock());
    const controller = new AbortController();
    const aborted = p.getToken(controller.signal);
    const patient = p.getToken();
    controller.abort();
    expect(await failure(aborted)).toMatchObject({ kind: "aborted", source: "token", heraldCode: "HERALD_E_CONNECTOR_ABORTED" });
    held.resolve();
    expect(await patient).toBe("tok-after-abort");
  });

  it("forgets a token the Connector refused, unless it was just fetched", async () => {
    const clock = fakeClock();
    const p = provider(clock);
    const first = (await p.getToken())!;
    p.invalidate?.(first);
    expect(await p.getToken()).toBe(first);
    clock.advance(MIN);
    p.invalidate?.("some-other-token");
    expect(await p.getToken()).toBe(first);
    p.invalidate?.(first);
    const second = await p.getToken();
    expect(second).not.toBe(first);
  });

  it("reports an unreachable token endpoint as a token error", async () => {
    const gone = await startServer(() => undefined);
    await gone.close();
    const e = await failure(provider(fakeClock(), { tokenEndpoint: `${gone.url}/t/oauth2/v2.0/token` }).getToken());
    expect(e).toMatchObject({ source: "token", kind: "refused", heraldCode: "HERALD_E_TOKEN" });
  });

  it("reports an answer without access_token as a token error", async () => {
    script.push((_req, res) => json(res, 200, { token_type: "Bearer" }));
    expect(await failure(provider(fakeClock()).getToken())).toMatchObject({
      source: "token",
      kind: "invalid-response",
      heraldCode: "HERALD_E_TOKEN",
    });
  });

  it("sends nothing to the Connector when the token cannot be had", async () => {
    const connector = await startServer((_req, res) => json(res, 200, { id: "1" }));
    script.push((_req, res) => json(res, 400, { error: "unauthorized_client" }));
    const client = new HttpConnectorClient({
      dispatcher: agent,
      tokens: provider(fakeClock()),
      isTrusted: trustedHosts(clouds.public, ["127.0.0.1"]),
      clock: fakeClock(),
    });
    const e = await failure(client.sendToConversation(connector.url, "a:1", { type: "message", text: "x" }));
    expect(e).toMatchObject({ source: "token", code: "unauthorized_client", mayHaveArrived: false });
    expect(connector.requests).toHaveLength(0);
    await connector.close();
  });
});

describe("managed identity", () => {
  it("asks IMDS with the resource, the client id and Metadata: true, and caches", async () => {
    script.push((_req, res) =>
      json(res, 200, {
        access_token: "msi-token",
        expires_in: "86399",
        expires_on: "1900000000",
        resource: "https://api.botframework.com",
        token_type: "Bearer",
      }),
    );
    const clock = fakeClock();
    const p = createTokenProvider(config({ appType: "UserAssignedMSI", appPassword: undefined, tokenEndpoint: undefined }), {
      dispatcher: agent,
      clock,
      managedIdentityEndpoint: `${server.url}/metadata/identity/oauth2/token`,
    });
    const before = posts();
    expect(await p.getToken()).toBe("msi-token");
    clock.advance(20 * HOUR);
    expect(await p.getToken()).toBe("msi-token");
    expect(posts()).toBe(before + 1);
    const req = server.requests.at(-1)!;
    const url = new URL(req.url, server.url);
    expect(req.method).toBe("GET");
    expect(url.pathname).toBe("/metadata/identity/oauth2/token");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      "api-version": "2018-02-01",
      resource: "https://api.botframework.com",
      client_id: APP_ID,
    });
    expect(req.headers.metadata).toBe("true");
  });

  it("needs the app id as the identity's client id", () => {
    expect(() =>
      createTokenProvider(config({ appType: "UserAssignedMSI", appId: undefined }), { dispatcher: agent, clock: fakeClock() }),
    ).toThrow(ConfigError);
  });
});

describe("no credentials", () => {
  it("gives no token, and the Connector request carries no Authorization header", async () => {
    const p = createTokenProvider(config({ appPassword: undefined }), { dispatcher: agent, clock: fakeClock() });
    expect(p).toBe(noCredentials);
    expect(await p.getToken()).toBeUndefined();
    const connector = await startServer((_req, res) => json(res, 201, { id: "1" }));
    const client = new HttpConnectorClient({
      dispatcher: agent,
      tokens: p,
      isTrusted: trustedHosts(clouds.public, ["127.0.0.1"]),
      clock: fakeClock(),
    });
    await client.sendToConversation(`${connector.url}/_connector`, "a:1", { type: "message", text: "hi" });
    expect(connector.requests).toHaveLength(1);
    expect(connector.requests[0]!.headers.authorization).toBeUndefined();
    await connector.close();
  });
});

describe("tokenEndpointFor", () => {
  const base = { appTenantId: "t-1", tokenEndpoint: undefined };
  it.each([
    ["public", "SingleTenant", "https://login.microsoftonline.com/t-1/oauth2/v2.0/token"],
    ["public", "MultiTenant", "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"],
    ["gcch", "MultiTenant", "https://login.microsoftonline.us/MicrosoftServices.onmicrosoft.us/oauth2/v2.0/token"],
    ["china", "SingleTenant", "https://login.partner.microsoftonline.cn/t-1/oauth2/v2.0/token"],
  ] as const)("%s %s → %s", (cloud, appType, url) => {
    expect(tokenEndpointFor({ ...base, cloud: clouds[cloud], appType })).toBe(url);
  });

  it("lets HERALD_TOKEN_ENDPOINT replace the whole URL", () => {
    expect(
      tokenEndpointFor({ cloud: clouds.public, appType: "SingleTenant", appTenantId: "t-1", tokenEndpoint: "http://127.0.0.1:9/x/token" }),
    ).toBe("http://127.0.0.1:9/x/token");
  });

  it("refuses a SingleTenant bot without a tenant", () => {
    expect(() =>
      tokenEndpointFor({ cloud: clouds.public, appType: "SingleTenant", appTenantId: undefined, tokenEndpoint: undefined }),
    ).toThrow(ConfigError);
  });
});
