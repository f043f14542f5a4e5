import { MicrosoftAppCredentials } from "botframework-connector";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { botbuilderTokens } from "../../src/adapters/botbuilder.js";
import { createHerald, type HeraldLibrary } from "../../src/index.js";
import { silentLogger } from "../../src/log.js";
import { eventually } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * Tokens from the bot's own SDK credentials fail with the SDK's own errors (MSAL, network), not
 * Herald's ConnectorError. Such a failure says nothing about the recipient: like Herald's own
 * token endpoint failing, the delivery must wait for the credentials and be tried again, never
 * end `failed` (every recipient of a notification would be lost to one token-endpoint blip).
 */
const stores = createStoreFactory("sqlite");
let herald: HeraldLibrary;
let tokenCalls = 0;

beforeAll(async () => {
  // Real botbuilder credentials whose token endpoint is unreachable (nothing listens on port 1).
  const credentials = new MicrosoftAppCredentials("00000000-0000-0000-0000-0000000000b1", "secret", "botframework.com");
  credentials.oAuthEndpoint = "https://127.0.0.1:1/botframework.com";
  const getToken = credentials.getToken.bind(credentials);
  credentials.getToken = (force?: boolean) => {
    tokenCalls++;
    return getToken(force);
  };
  herald = await createHerald({
    logger: silentLogger,
    databaseUrl: stores.databaseUrl,
    inboundAuth: "off",
    trustedHosts: ["127.0.0.1"],
    tenantRps: 0,
    tokens: botbuilderTokens(credentials),
  });
});
afterAll(async () => {
  await herald?.close();
  await stores.cleanup();
});

describe("tokens from the bot SDK's credentials", () => {
  it("an SDK token failure holds the delivery for the credentials and retries it; it does not fail the recipient", async () => {
    await herald.handleAuthenticatedActivity({
      type: "message",
      id: "1",
      channelId: "msteams",
      serviceUrl: "http://127.0.0.1:1/",
      from: { id: "29:user" },
      recipient: { id: "28:bot" },
      conversation: { id: "a:token-failure", conversationType: "personal", tenantId: "t1" },
      channelData: { tenant: { id: "t1" } },
      text: "hello",
    });
    const sent = await herald.notify({ audience: { conversations: ["a:token-failure"] }, message: { text: "hi" } });
    const seen = await eventually(
      "the delivery failed, or its token was asked for again",
      async () => {
        const n = await herald.notification(sent.id);
        return n && (n.counts.failed > 0 || tokenCalls >= 2) ? n : undefined;
      },
      20_000,
    );
    expect(seen.counts.failed).toBe(0);
    expect(tokenCalls).toBeGreaterThanOrEqual(2);
  }, 30_000);
});
