import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHerald, HeraldError, type HeraldLibrary } from "../../src/index.js";
import { silentLogger } from "../../src/log.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * `inboundAuth: "off"` is accepted by the server only while it listens on loopback, so only local
 * processes (an emulator) can post unauthenticated activities. In the library `handleActivity` is
 * called from the host bot's own, usually public, endpoint: the `host` check says nothing there.
 * Without a token, Herald must still refuse an activity that claims a real Connector serviceUrl
 * (anyone could opt any user out by writing "stop" in their name), and keep taking the local
 * emulator's loopback ones.
 */
const stores = createStoreFactory("sqlite");
let herald: HeraldLibrary;
const tenantId = "tenant-off";

const activity = (serviceUrl: string, conversationId: string, userId: string) => ({
  type: "message",
  id: "1",
  channelId: "msteams",
  serviceUrl,
  from: { id: userId },
  recipient: { id: "28:bot" },
  conversation: { id: conversationId, conversationType: "personal", tenantId },
  channelData: { tenant: { id: tenantId } },
  text: "stop",
});

beforeAll(async () => {
  herald = await createHerald({
    logger: silentLogger,
    databaseUrl: stores.databaseUrl,
    inboundAuth: "off",
    trustedHosts: ["127.0.0.1"],
    engine: false,
  });
});
afterAll(async () => {
  await herald?.close();
  await stores.cleanup();
});

describe("library with inboundAuth off", () => {
  it("refuses an unauthenticated activity that names a real Connector host: nothing stored, nobody opted out", async () => {
    const forged = activity("https://smba.trafficmanager.net/amer/", "a:victim-chat", "29:victim");
    const error = await herald.handleActivity(forged).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeraldError);
    expect((error as HeraldError).status).toBe(401);
    expect(await herald.store.conversations.get("a:victim-chat")).toBeUndefined();
    expect((await herald.store.preferences.get(tenantId, "29:victim"))?.optedOut ?? false).toBe(false);
  });

  it("still takes a local emulator's activity (loopback serviceUrl) without a token", async () => {
    await herald.handleActivity(activity("http://127.0.0.1:3979/", "a:emulator-chat", "29:local"));
    expect(await herald.store.conversations.get("a:emulator-chat")).toBeDefined();
  });
});
