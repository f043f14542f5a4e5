import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { connector, enc, start, token } from "../emulator/helpers.js";
import { launchTestBrowser } from "../helpers/browser.js";

const here = dirname(fileURLToPath(import.meta.url));
const screenshot = resolve(here, "../../docs/images/emulator-chat.png");

let emu: EmulatorHandle;
let browser: Browser;
let page: Page;
let api: ReturnType<typeof connector>;

const card = {
  type: "AdaptiveCard",
  $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
  version: "1.5",
  body: [
    { type: "TextBlock", text: "Quarterly all-hands", weight: "Bolder", size: "Large", wrap: true },
    { type: "TextBlock", text: "Join us **Thursday at 10:00** in the main hall or online.", wrap: true },
    {
      type: "FactSet",
      facts: [
        { title: "Where", value: "Main hall · Teams meeting" },
        { title: "Who", value: "Everyone at Contoso" },
      ],
    },
  ],
  actions: [
    { type: "Action.Execute", title: "I'll be there", verb: "rsvp", data: { answer: "yes" } },
    { type: "Action.OpenUrl", title: "Agenda", url: "https://example.com/agenda" },
  ],
};

beforeAll(async () => {
  emu = await start({ org: { users: 50, teams: 2, chats: 1 }, botName: "Herald" });
  api = connector(emu, await token(emu));
  browser = await launchTestBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await emu?.close();
});

async function send(conversationId: string, activity: Record<string, unknown>): Promise<string> {
  const res = await api.post(`v3/conversations/${enc(conversationId)}/activities`, activity);
  expect(res.status).toBe(201);
  return res.json.id as string;
}

function bubble(id: string) {
  return page.locator(`.msg[data-id="${id}"]`);
}

describe("the chat page", () => {
  it("renders a user's 1:1 chat live: markdown text and an Adaptive Card, then an update and a delete as they happen", async () => {
    const user = emu.org.user(3);
    const conversationId = emu.org.personalConversationId(user.index);
    const welcome = await send(conversationId, {
      type: "message",
      text: `Hi ${user.givenName}, I'm **Herald**. I'll post _company news_ here.`,
    });

    await page.goto(`${emu.url}/_emulator/chat?conversation=${enc(conversationId)}`);
    await page.waitForSelector("body[data-ready='1']", { timeout: 15_000 });
    expect(await page.locator("#title").textContent()).toBe(user.name);
    await expect.poll(() => bubble(welcome).locator("strong").textContent()).toBe("Herald");
    expect(await bubble(welcome).locator("em").textContent()).toBe("company news");

    // Sent while the page is open: the card arrives over the live stream and renders with the official renderer.
    const cardId = await send(conversationId, {
      type: "message",
      summary: "Quarterly all-hands",
      attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: card }],
    });
    await bubble(cardId).locator(".ac-adaptiveCard").waitFor({ timeout: 10_000 });
    expect(await bubble(cardId).locator(".ac-adaptiveCard").textContent()).toContain("Quarterly all-hands");
    expect(await bubble(cardId).locator(".ac-pushButton").count()).toBe(2);
    // Markdown inside a TextBlock goes through the same renderer.
    expect(await bubble(cardId).locator(".ac-adaptiveCard strong").first().textContent()).toBe("Thursday at 10:00");

    const notice = await send(conversationId, { type: "message", text: "Reminder: the all-hands starts at 10:00." });
    await bubble(notice).waitFor();
    const upd = await api.put(`v3/conversations/${enc(conversationId)}/activities/${notice}`, {
      type: "message",
      text: "Reminder: the all-hands starts at **10:30** (moved).",
    });
    expect(upd.status).toBe(200);
    await expect.poll(() => bubble(notice).locator(".edited").count(), { timeout: 10_000 }).toBe(1);
    expect(await bubble(notice).locator(".text").textContent()).toContain("10:30");

    const wrong = await send(conversationId, { type: "message", text: "This went to the wrong person, sorry." });
    await bubble(wrong).waitFor();
    const del = await api.del(`v3/conversations/${enc(conversationId)}/activities/${wrong}`);
    expect(del.status).toBe(200);
    await expect.poll(() => bubble(wrong).textContent(), { timeout: 10_000 }).toContain("This message has been deleted");
    expect(await bubble(wrong).textContent()).not.toContain("wrong person");
    expect(await page.locator("#status").textContent()).toBe("live");

    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot });
  }, 60_000);

  it("shows a channel with its threads and replies, and picks conversations from the list", async () => {
    const team = emu.org.teams[1]!;
    const channel = team.channels[1]!;
    const created = await api.post("v3/conversations", {
      isGroup: true,
      channelData: { channel: { id: channel.id } },
      activity: { type: "message", text: "Release 2.0 is out 🎉" },
    });
    expect(created.status).toBe(201);
    const rootId = created.json.activityId as string;
    const replyId = await send(created.json.id, { type: "message", text: "Release notes: https://example.com/notes" });

    await page.goto(`${emu.url}/_emulator/chat`);
    await page.locator("#teams .item", { hasText: `${team.name} › ${channel.name}` }).click();
    await page.waitForSelector("body[data-ready='1']");
    const thread = page.locator(`.thread[data-thread="${rootId}"]`);
    await thread.waitFor();
    expect(await thread.locator(`.msg[data-id="${rootId}"]`).textContent()).toContain("Release 2.0 is out");
    expect(await thread.locator(`.replies .msg[data-id="${replyId}"] a`).getAttribute("href")).toBe("https://example.com/notes");
    expect(new URL(page.url()).searchParams.get("conversation")).toBe(channel.id);
  }, 60_000);

  it("says so when the conversation does not exist", async () => {
    await page.goto(`${emu.url}/_emulator/chat?conversation=${enc("a:nope")}`);
    await expect.poll(() => page.locator("#title").textContent(), { timeout: 10_000 }).toBe("No such conversation");
  }, 30_000);
});
