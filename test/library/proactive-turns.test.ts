import { CloudAdapter, ConfigurationBotFrameworkAuthentication } from "botbuilder";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { heraldMiddleware } from "../../src/adapters/botbuilder.js";
import { createHerald, type HeraldLibrary } from "../../src/index.js";
import { silentLogger } from "../../src/log.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * The real botbuilder CloudAdapter runs its middleware for the bot's own proactive turns too
 * (`continueConversationAsync` makes up a `ContinueConversation` event from a stored reference).
 * No channel sent that activity and no token vouched for it: Herald must not take it as an
 * authenticated inbound activity (it would rewrite the conversation's record from the bot's copy).
 */
const stores = createStoreFactory("sqlite");
let herald: HeraldLibrary;

beforeAll(async () => {
  herald = await createHerald({
    logger: silentLogger,
    databaseUrl: stores.databaseUrl,
    appId: "00000000-0000-0000-0000-00000000b0b0",
    engine: false,
  });
});
afterAll(async () => {
  await herald?.close();
  await stores.cleanup();
});

describe("botbuilder middleware and proactive turns", () => {
  it("does not hand a continueConversationAsync turn (made up by the SDK) to Herald", async () => {
    const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
    adapter.use(heraldMiddleware(herald));
    let ran = 0;
    const reference = {
      channelId: "msteams",
      serviceUrl: "https://smba.trafficmanager.net/amer/",
      conversation: { id: "a:proactive-only", tenantId: "tenant-1", conversationType: "personal" },
      user: { id: "29:user" },
      bot: { id: "28:bot" },
    };
    await adapter.continueConversationAsync("", reference as never, async () => void ran++);
    expect(ran).toBe(1);
    expect(await herald.store.conversations.get("a:proactive-only")).toBeUndefined();
  });
});
