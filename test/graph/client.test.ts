import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { clouds } from "../../src/config/clouds.js";
import { autoInstallEnabled, type ConfigError, loadConfig } from "../../src/config/config.js";
import { createHttpAgent } from "../../src/connector/index.js";
import { GraphClient, GraphError, graphHost, graphTokenEndpoint } from "../../src/graph/index.js";

/** The Graph client's edges: configuration, token endpoints per tenant, the trusted origin, paging, typed errors. */
const seen: { url: string; auth: string | undefined }[] = [];
let base = "";
const server = createServer((req: IncomingMessage, res) => {
  seen.push({ url: req.url ?? "", auth: req.headers.authorization });
  const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };
  if (req.url?.startsWith("/v1.0/pages")) {
    const n = Number(new URL(req.url, base).searchParams.get("n") ?? "0");
    return send(200, { value: [{ id: `u${n}` }], ...(n < 2 ? { "@odata.nextLink": `${base}/v1.0/pages?n=${n + 1}` } : {}) });
  }
  if (req.url?.startsWith("/v1.0/escape")) {
    const port = (server.address() as AddressInfo).port;
    return send(200, { value: [], "@odata.nextLink": `http://localhost:${port}/v1.0/pages?n=0` });
  }
  if (req.url?.startsWith("/v1.0/refuse")) return send(403, { error: { code: "Forbidden", message: "App policy blocks it." } });
  if (req.url?.startsWith("/v1.0/throttled-long"))
    return send(429, { error: { code: "TooManyRequests", message: "Slow down." } }, { "retry-after": "36000" });
  send(404, { error: { code: "Request_ResourceNotFound", message: "nothing" } });
});
const agent = createHttpAgent();
let client: GraphClient;

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new GraphClient(graphHost("public", base), {
    dispatcher: agent,
    clock: systemClock,
    tokens: { getToken: async (t) => `token-for-${t}`, invalidate: () => undefined },
  });
});
afterAll(async () => {
  await agent.close();
  await new Promise((r) => server.close(r));
});

it("follows @odata.nextLink page by page with the tenant's token", async () => {
  const pages: string[][] = [];
  for await (const page of client.pages("tenant-a", "/pages?n=0")) pages.push(page.map((u) => String(u["id"])));
  expect(pages).toEqual([["u0"], ["u1"], ["u2"]]);
  expect(seen.slice(-3).every((s) => s.auth === "Bearer token-for-tenant-a")).toBe(true);
});

it("a next link to another origin is refused before any token leaves", async () => {
  const before = seen.length;
  const pages = async () => {
    for await (const _ of client.pages("tenant-a", "/escape")) void _;
  };
  await expect(pages()).rejects.toMatchObject({ heraldCode: "HERALD_E_GRAPH_UNTRUSTED_HOST" });
  expect(seen.length - before).toBe(1);
});

it("errors carry Graph's code and status", async () => {
  const e = await client.get("t", "/refuse").catch((x: unknown) => x);
  expect(e).toBeInstanceOf(GraphError);
  expect(e).toMatchObject({ status: 403, graphCode: "Forbidden", heraldCode: "HERALD_E_GRAPH_HTTP" });
});

it("per-tenant token endpoints: the cloud's login host, or HERALD_TOKEN_ENDPOINT with its tenant segment replaced", () => {
  expect(graphTokenEndpoint(clouds.gcch, undefined, "contoso.onmicrosoft.us")).toBe(
    "https://login.microsoftonline.us/contoso.onmicrosoft.us/oauth2/v2.0/token",
  );
  expect(graphTokenEndpoint(clouds.public, "http://127.0.0.1:9/botframework.com/oauth2/v2.0/token", "t1")).toBe(
    "http://127.0.0.1:9/t1/oauth2/v2.0/token",
  );
  expect(graphHost("china", undefined).base).toBe("https://microsoftgraph.chinacloudapi.cn");
  expect(graphHost("dod", undefined).trusts("https://graph.microsoft.com/v1.0/users")).toBe(false);
});

it("HERALD_GRAPH_URL, HERALD_AUTO_INSTALL and HERALD_TEAMS_APP_ID are validated; auto-install defaults to on only with a usable Graph", () => {
  const base = { HERALD_INBOUND_AUTH: "off", HERALD_APP_ID: "a", HERALD_APP_TYPE: "MultiTenant" };
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig({ ...base, ...env });
      return [];
    } catch (e) {
      return (e as ConfigError).problems;
    }
  };
  expect(problems({ HERALD_GRAPH_URL: "http://graph.example.com" }).join()).toMatch(/plain http on a host not in HERALD_TRUSTED_HOSTS/);
  expect(problems({ HERALD_GRAPH_URL: "https://graph.microsoft.com/v1.0" }).join()).toMatch(/ends with a version/);
  // A Graph token for the real cloud must not go to any https host someone typed (a look-alike, a proxy):
  // only the configured cloud's Graph host, or a host the operator listed in HERALD_TRUSTED_HOSTS.
  expect(problems({ HERALD_GRAPH_URL: "https://graph.microsoft.com.evil.example" }).join()).toMatch(
    /not the cloud's Graph host.*HERALD_TRUSTED_HOSTS/,
  );
  expect(problems({ HERALD_CLOUD: "gcch", HERALD_GRAPH_URL: "https://graph.microsoft.com" }).join()).toMatch(/not the cloud's Graph host/);
  expect(problems({ HERALD_GRAPH_URL: "https://graph.microsoft.com/" })).toEqual([]);
  expect(problems({ HERALD_GRAPH_URL: "https://graph.proxy.example", HERALD_TRUSTED_HOSTS: "graph.proxy.example" })).toEqual([]);
  expect(problems({ HERALD_AUTO_INSTALL: "on" }).join()).toMatch(/needs credentials/);
  expect(problems({ HERALD_AUTO_INSTALL: "maybe" }).join()).toMatch(/HERALD_AUTO_INSTALL="maybe" is invalid: expected one of on, off/);
  expect(
    problems({
      HERALD_AUTO_INSTALL: "on",
      HERALD_APP_PASSWORD: "s",
      HERALD_TOKEN_ENDPOINT: "http://127.0.0.1:9/x/oauth2/v2.0/token",
    }).join(),
  ).toMatch(/needs HERALD_GRAPH_URL/);
  expect(autoInstallEnabled(loadConfig({ ...base, HERALD_APP_PASSWORD: "s" }))).toBe(true);
  expect(autoInstallEnabled(loadConfig({ ...base }))).toBe(false);
  // An emulator's token endpoint without HERALD_GRAPH_URL: never the real Graph.
  expect(
    autoInstallEnabled(loadConfig({ ...base, HERALD_APP_PASSWORD: "s", HERALD_TOKEN_ENDPOINT: "http://127.0.0.1:9/x/oauth2/v2.0/token" })),
  ).toBe(false);
  expect(loadConfig({ ...base, HERALD_TEAMS_APP_ID: " cat-1 " }).teamsAppId).toBe("cat-1");
});

it("a 10-hour Retry-After from Graph holds the tenant's calls (and installs) 30 minutes at most", async () => {
  const e = await client.request("tenant-throttled", "GET", "/throttled-long", { throttleRetries: 0 }).catch((x: unknown) => x);
  expect(e).toMatchObject({ status: 429, retryAfterMs: 30 * 60_000 });
  expect(client.throttledUntil("tenant-throttled") - Date.now()).toBeLessThanOrEqual(30 * 60_000);
  expect(client.throttledUntil("tenant-throttled") - Date.now()).toBeGreaterThan(29 * 60_000);
});
