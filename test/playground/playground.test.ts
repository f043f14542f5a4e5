import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConversationRecord } from "../../src/domain/conversation.js";
import { type Playground, type PlaygroundConfig, startPlayground } from "../helpers/playground.js";
import { type HeraldProcess, startHeraldCli } from "./herald-cli.js";

/**
 * Herald as the bot behind Microsoft's M365 Agents Playground, headless: what the README's "Try
 * it with Microsoft's Agents Playground" promises. `herald serve` (the built CLI, a child process)
 * runs with HERALD_INBOUND_AUTH=off and trusts loopback; the Playground is driven through the API
 * its own web client uses. Needs a current `npm run build` (npm test builds first).
 */

const API_KEY = "playground-admin-key-0123456789";
/** How the Playground's log names the bot in entries for activities it sent to the bot. */
const TO_BOT = "User Application";

describe("Herald behind Microsoft's M365 Agents Playground", () => {
  let dir: string;
  let herald: HeraldProcess;
  let playground: Playground;
  let tenant: PlaygroundConfig;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "herald-playground-test-"));
    herald = await startHeraldCli({
      HERALD_PORT: "0",
      HERALD_INBOUND_AUTH: "off",
      // The Playground's serviceUrl is http://localhost:<port>/_connector.
      HERALD_TRUSTED_HOSTS: "127.0.0.1,localhost",
      HERALD_DATABASE_URL: `sqlite:${join(dir, "herald.db")}`,
      HERALD_API_KEY: API_KEY,
      HERALD_LOG_LEVEL: "debug",
    });
    playground = await startPlayground({ appEndpoint: `${herald.url}/api/messages` });
    // The web client loads the mock tenant first; the server checks the bot endpoint answers.
    tenant = await playground.config();
  });

  afterAll(async () => {
    await playground?.close();
    await herald?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const diagnose = async (what: string, e: unknown) =>
    new Error(
      `${what}: ${(e as Error).message}\n--- Playground output ---\n${await playground.output()}\n--- herald serve output ---\n${herald.output()}`,
    );

  /** Herald's HTTP answer to an activity the Playground sent it (the Playground's log panel shows it). */
  const answerTo = async (conversationId: string, activityName: string) => {
    const entry = await playground
      .waitForLog((l) => l.log.to === TO_BOT && l.log.conversationId === conversationId && l.log.activityName === activityName)
      .catch(async (e: unknown) => {
        throw await diagnose(`no ${activityName} in ${conversationId} logged`, e);
      });
    return { status: entry.log.response?.statusCode, activity: entry.log.request?.body ?? {} };
  };

  /** The first message the bot posted in a conversation of the Playground. */
  const botMessage = (conversationId: string, match: (text: string) => boolean = () => true) =>
    playground
      .waitForConversation(
        (a) =>
          a.action === "createMessage" &&
          a.actionConversationId === conversationId &&
          a.message?.from.id === tenant.config.bot.id &&
          match(a.message.text ?? ""),
      )
      .then((a) => a.message?.text ?? "")
      .catch(async (e: unknown) => {
        throw await diagnose(`no bot message in ${conversationId}`, e);
      });

  it("accepts the install, keeps the reference and shows the welcome in the Playground", async () => {
    const chat = tenant.config.personalChat.id;
    const bot = tenant.config.bot;
    const user = tenant.config.currentUser;
    expect(tenant.internalConfig.channelId).toBe("msteams");

    await playground.install(chat);

    // Herald answered 200 to both activities the Playground sent, which carry its mock Connector.
    for (const activityName of ["installationUpdate", "conversationUpdate"]) {
      const { status, activity } = await answerTo(chat, activityName);
      expect(status, `${activityName} answer`).toBe(200);
      expect(activity["serviceUrl"]).toBe(playground.serviceUrl);
    }

    // The welcome appears in the personal chat, from the bot.
    const welcome = await botMessage(chat);
    expect(welcome).toContain(`I'm ${bot.name}`);
    expect(welcome).toContain("Type **help**");

    // Herald kept the reference: the welcome is sent only after it is stored.
    const res = await fetch(`${herald.url}/v1/conversations?kind=personal`, { headers: { authorization: `Bearer ${API_KEY}` } });
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
    const sentId = await playground.send(chat, tenant.config.currentUser.id, "help");
    expect(sentId).not.toBe("");

    const answer = await botMessage(chat, (text) => text.includes("**help**: this message"));
    expect(answer).toContain("You are **receiving** notifications.");
    const { status, activity } = await answerTo(chat, "message");
    expect(status).toBe(200);
    expect(activity["text"]).toBe("help");

    // Both install activities were answered before "help" was sent; only the first one welcomed.
    const fromBot = playground.conversation.filter(
      (a) => a.action === "createMessage" && a.actionConversationId === chat && a.message?.from.id === tenant.config.bot.id,
    );
    expect(fromBot.map((a) => a.message?.text)).toEqual([expect.stringContaining("Welcome"), answer]);
  });

  it("accepts the installs in a team channel and a group chat and keeps both references", async () => {
    const team = tenant.config.teams[0];
    const group = tenant.config.groupChats[0];
    if (!team || !group) throw new Error(`the Playground's default tenant has no team or group chat: ${JSON.stringify(tenant.config)}`);
    // What the UI does when the team's General channel (its id is the team id) and the group chat are opened.
    await playground.install(team.id);
    await playground.install(group.id);

    for (const chat of [team.id, group.id]) {
      for (const activityName of ["installationUpdate", "conversationUpdate"]) {
        expect((await answerTo(chat, activityName)).status, `${activityName} in ${chat}`).toBe(200);
      }
    }
    const inTeam = await botMessage(team.id);
    expect(inTeam).toContain(`added to the ${team.name} team`);
    expect(inTeam).toContain("**General**");
    await botMessage(group.id);

    const res = await fetch(`${herald.url}/v1/conversations`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const { items } = (await res.json()) as { items: ConversationRecord[] };
    expect(items.find((c) => c.id === team.id)).toMatchObject({
      kind: "channel",
      status: "active",
      serviceUrl: playground.serviceUrl,
      team: { id: team.id, name: team.name },
    });
    expect(items.find((c) => c.id === group.id)).toMatchObject({ kind: "groupChat", status: "active", serviceUrl: playground.serviceUrl });
  });
});
