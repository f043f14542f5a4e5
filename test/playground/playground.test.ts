import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import type { ConversationRecord } from "../../src/domain/conversation.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import type { Listener } from "../../src/server/listen.js";
import { type Playground, type PlaygroundConfig, startPlayground } from "../helpers/playground.js";

/**
 * Herald as the bot behind Microsoft's M365 Agents Playground, headless: what the README's "Try
 * it with Microsoft's Agents Playground" promises. Herald runs with HERALD_INBOUND_AUTH=off and
 * trusts loopback; the Playground is driven through the API its own web client uses.
 */

const API_KEY = "playground-admin-key-0123456789";
/** How the Playground's log names the bot in entries for activities it sent to the bot. */
const TO_BOT = "User Application";

describe("Herald behind Microsoft's M365 Agents Playground", () => {
  let dir: string;
  let herald: Herald;
  let listener: Listener;
  let playground: Playground;
  let tenant: PlaygroundConfig;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "herald-playground-test-"));
    const config = loadConfig({
      HERALD_PORT: "0",
      HERALD_INBOUND_AUTH: "off",
      // The Playground's serviceUrl is http://localhost:<port>/_connector.
      HERALD_TRUSTED_HOSTS: "127.0.0.1,localhost",
      HERALD_DATABASE_URL: `sqlite:${join(dir, "herald.db")}`,
      HERALD_API_KEY: API_KEY,
    });
    herald = await createHerald(config, { logger: silentLogger });
    listener = await herald.listen();
    playground = await startPlayground({ appEndpoint: `${listener.url}/api/messages` });
    // The web client loads the mock tenant first; the server checks the bot endpoint answers.
    tenant = await playground.config();
  });

  afterAll(async () => {
    await playground?.close();
    await herald?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const diagnose = async (what: string, e: unknown) =>
    new Error(`${what}: ${(e as Error).message}\n--- Playground output ---\n${await playground.output()}`);

  it("accepts the install, keeps the reference and shows the welcome in the Playground", async () => {
    const chat = tenant.config.personalChat.id;
    const bot = tenant.config.bot;
    const user = tenant.config.currentUser;
    expect(tenant.internalConfig.channelId).toBe("msteams");

    await playground.install(chat);

    // Herald answered 200 to both activities the Playground sent (its log panel shows the status).
    for (const activityName of ["installationUpdate", "conversationUpdate"]) {
      const entry = await playground
        .waitForLog((l) => l.log.to === TO_BOT && l.log.activityName === activityName)
        .catch(async (e: unknown) => {
          throw await diagnose(`no ${activityName} logged`, e);
        });
      expect(entry.log.response, `${activityName} answer`).toMatchObject({ statusCode: 200 });
      expect(entry.log.request?.body?.["serviceUrl"]).toBe(playground.serviceUrl);
    }

    // The welcome appears in the personal chat, from the bot.
    const welcome = await playground
      .waitForConversation((a) => a.action === "createMessage" && a.actionConversationId === chat && a.message?.from.id === bot.id)
      .catch(async (e: unknown) => {
        throw await diagnose("no welcome in the Playground", e);
      });
    expect(welcome.message?.text).toContain(`I'm ${bot.name}`);
    expect(welcome.message?.text).toContain("Type **help**");

    // Herald kept the reference: the welcome is sent only after it is stored.
    const res = await fetch(`${listener.url}/v1/conversations?kind=personal`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(res.status).toBe(200);
    const { items } = (await res.json()) as { items: ConversationRecord[] };
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      id: chat,
      kind: "personal",
      status: "active",
      tenantId: tenant.config.tenantId,
      serviceUrl: playground.serviceUrl,
      channelId: "msteams",
      bot: { id: bot.id },
      user: { id: user.id },
      locale: "en-US",
    });
  });

  it("answers help in the Playground, and welcomed only once", async () => {
    const chat = tenant.config.personalChat.id;
    const bot = tenant.config.bot;
    const sentId = await playground.send(chat, tenant.config.currentUser.id, "help");
    expect(sentId).not.toBe("");

    const answer = await playground
      .waitForConversation(
        (a) =>
          a.action === "createMessage" &&
          a.actionConversationId === chat &&
          a.message?.from.id === bot.id &&
          (a.message.text ?? "").includes("**help**: this message"),
      )
      .catch(async (e: unknown) => {
        throw await diagnose("no answer to help in the Playground", e);
      });
    expect(answer.message?.text).toContain("You are **receiving** notifications.");

    // Herald answered the user's message 200 (the Playground logs what it sent to the bot).
    const message = await playground.waitForLog((l) => l.log.to === TO_BOT && l.log.activityName === "message");
    expect(message.log.response?.statusCode).toBe(200);
    expect(message.log.request?.body?.["text"]).toBe("help");

    // Both install activities were answered before "help" was sent; only the first one welcomed.
    const fromBot = playground.conversation.filter((a) => a.action === "createMessage" && a.message?.from.id === bot.id);
    expect(fromBot.map((a) => a.message?.text ?? "")).toEqual([expect.stringContaining("Welcome"), answer.message?.text]);
  });
});
