import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { type Activity, ConfigError, createHerald, HeraldError, type HeraldLibrary } from "../../src/index.js";
import { silentLogger } from "../../src/log.js";
import { start } from "../emulator/helpers.js";
import { call, eventually } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";
import { hostEndpoint } from "./endpoint.js";

/**
 * `createHerald` from "herald" inside a host bot: the emulator posts signed activities to the
 * host's own endpoint, which hands them to `herald.handleActivity` with the Authorization header.
 */
const stores = createStoreFactory("sqlite");
const API_KEY = "library-admin-key-0123456789abcdef";
let emu: EmulatorHandle;
let herald: HeraldLibrary;
let endpoint: { url: string; close(): Promise<void> };
const fallbackCalls: { verb: string | undefined; data: unknown }[] = [];

beforeAll(async () => {
  emu = await start({ org: { tenants: 1, users: 10, teams: 1 }, limits: false });
  herald = await createHerald({
    logger: silentLogger,
    databaseUrl: stores.databaseUrl,
    appId: emu.appId,
    appPassword: "emulator-secret",
    appType: "MultiTenant",
    tokenEndpoint: emu.tokenUrl,
    openIdMetadataUrl: emu.openIdMetadataUrl,
    tokenIssuer: emu.tokenIssuer,
    trustedHosts: ["127.0.0.1"],
    tenantRps: 0,
    apiKey: API_KEY,
    port: 0,
    onCardAction: async (_activity: Activity, verb, data) => {
      fallbackCalls.push({ verb, data });
      return { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: `Thanks for ${verb}` }] };
    },
  });
  endpoint = await hostEndpoint(herald);
  await call("PUT", `${emu.url}/_emulator/bot`, { endpoint: endpoint.url });
});
afterAll(async () => {
  await endpoint?.close();
  await herald?.close();
  await emu?.close();
  await stores.cleanup();
});

const control = (method: string, path: string, body?: unknown) => call(method, `${emu.url}/_emulator${path}`, body);
const messagesOf = async (conversationId: string) =>
  ((await control("GET", `/conversations/${encodeURIComponent(conversationId)}/messages`)).json["messages"] ?? []) as {
    id: string;
    activity?: { text?: string };
  }[];

describe("createHerald (library)", () => {
  it("stores the reference from a signed install, sends no welcome of its own (quiet), and notify() reaches the user", async () => {
    const user = emu.org.user(emu.org.tenants[0]!.userStart + 1);
    const job = await control("POST", "/install", { users: [user.id], wait: true });
    expect(job.status).toBeLessThan(300);
    const conversationId = emu.org.personalConversationId(user.index);
    const stored = await eventually("reference stored", async () => (await herald.store.conversations.get(conversationId)) ?? undefined);
    expect(stored.user?.id).toBe(user.id);

    const view = await herald.notify({ audience: { conversations: [conversationId] }, message: { text: "Hello from the library" } });
    expect(view.id).toMatch(/^n_/);
    expect(view.total).toBe(1);
    const done = await eventually("delivered", async () => {
      const n = await herald.notification(view.id);
      return n?.status === "completed" ? n : undefined;
    });
    expect(done.counts.sent).toBe(1);
    expect((await messagesOf(conversationId)).map((m) => m.activity?.text)).toEqual(["Hello from the library"]);
  });

  it("verifies the Connector's token as POST /api/messages does: no Authorization is refused and nothing is stored", async () => {
    const activity = {
      type: "message",
      id: "1",
      channelId: "msteams",
      serviceUrl: emu.connectorUrl,
      from: { id: "29:forged" },
      recipient: { id: `28:${emu.appId}` },
      conversation: { id: "a:forged-conversation", conversationType: "personal", tenantId: emu.org.tenants[0]!.id },
      channelData: { tenant: { id: emu.org.tenants[0]!.id } },
      text: "hi",
    };
    const error = await herald.handleActivity(activity).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeraldError);
    expect((error as HeraldError).status).toBe(401);
    expect(await herald.store.conversations.get("a:forged-conversation")).toBeUndefined();
    // The same activity, as the host SDK vouches for it, is taken (the serviceUrl is trusted).
    await herald.handleAuthenticatedActivity(activity);
    expect(await herald.store.conversations.get("a:forged-conversation")).toBeDefined();
  });

  it("refuses a bad request with the code and message the HTTP API answers, and listens only when asked", async () => {
    const bad = { audience: { users: ["29:x"], channels: ["19:y"] }, message: { text: "x" } };
    const error = (await herald.notify(bad as never).catch((e: unknown) => e)) as HeraldError;
    expect(error).toBeInstanceOf(HeraldError);
    const listener = await herald.listen();
    const http = await call("POST", `${listener.url}/v1/notifications`, bad, API_KEY);
    expect(http.status).toBe(error.status);
    expect(http.json["error"]).toEqual({ code: error.code, message: error.message });
    expect(error.code).toBe("HERALD_E_INVALID_BODY");
  });

  it("passes card actions with verbs Herald does not own to onCardAction, and answers with its card", async () => {
    const user = emu.org.user(emu.org.tenants[0]!.userStart + 1);
    const conversationId = emu.org.personalConversationId(user.index);
    const [sent] = await messagesOf(conversationId);
    const answer = await control("POST", "/invoke", { from: user.id, replyToId: sent!.id, verb: "myapp.vote", data: { choice: "a" } });
    expect(fallbackCalls).toEqual([{ verb: "myapp.vote", data: expect.objectContaining({ choice: "a" }) }]);
    expect(JSON.stringify(answer.json)).toContain("Thanks for myapp.vote");
  });

  it("validates settings through the server's loader: the same ConfigError and message as HERALD_* variables", async () => {
    const error = (await createHerald({ tenantRps: -1, logger: silentLogger }).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    let expected: unknown;
    try {
      loadConfig({ HERALD_TENANT_RPS: "-1" });
    } catch (e) {
      expected = e;
    }
    expect(error.message).toBe((expected as ConfigError).message);
    expect(error.code).toBe("HERALD_E_CONFIG");
  });
});
