import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent } from "undici";
import { afterAll, beforeAll, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { createGraphTokens } from "../../src/graph/tokens.js";

/**
 * A managed identity gets tokens of its own (home) tenant only. A Graph call for another tenant
 * must not run with that token: it would read and install in the home tenant while Herald (and a
 * caller limited to the other tenant) takes the answers for the other tenant's.
 */
const HOME = "11111111-1111-4111-8111-111111111111";
const OTHER = "22222222-2222-4222-8222-222222222222";
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const jwt = `${b64({ alg: "RS256", typ: "JWT" })}.${b64({ tid: HOME, aud: "https://graph.microsoft.com" })}.sig`;

let server: Server;
let url: string;
const agent = new Agent();
beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ access_token: jwt, expires_in: "3600", token_type: "Bearer" }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metadata/identity/oauth2/token`;
});
afterAll(async () => {
  await agent.close();
  await new Promise((r) => server.close(r));
});

it("a Graph token whose tenant (tid) is not the one asked for is refused, not used", async () => {
  const tokens = createGraphTokens(
    {
      appId: "33333333-3333-4333-8333-333333333333",
      appPassword: undefined,
      appType: "UserAssignedMSI",
      cloud: "public",
      tokenEndpoint: undefined,
    },
    { dispatcher: agent, clock: systemClock, managedIdentityEndpoint: url },
  );
  expect(await tokens.getToken(HOME)).toBe(jwt);
  expect(await tokens.getToken(HOME.toUpperCase())).toBe(jwt);
  await expect(tokens.getToken(OTHER)).rejects.toThrow(new RegExp(`tenant ${HOME}.*not ${OTHER}`));
});
