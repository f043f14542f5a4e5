import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { launchTestBrowser } from "../helpers/browser.js";
import { eventually, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";
import { api, control, sendAndWait } from "./helpers.js";

/** A person answers a poll by hand in the emulator's chat page: picks an option, presses Vote, sees their own view. */
const stores = createStoreFactory("sqlite");
let store: Store;
let stack: Stack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  store = await stores.open();
  stack = await startStack(store, { emulator: { org: { users: 10, blockedShare: 0, uninstalledShare: 0 } } });
  await control(stack, "/_emulator/install", { users: [0], wait: true });
  browser = await launchTestBrowser();
  page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await stores.cleanup();
});

it("the chat page's Vote button sends the Action.Execute with the chosen option; the card shows the person's view", async () => {
  const conversationId = stack.emulator.org.personalConversationId(0);
  const { id, deliveries } = await sendAndWait(stack, {
    audience: { conversations: [conversationId] },
    message: { text: "Quick question", poll: { question: "Pick a colour", options: ["Red", "Green", "Blue"] } },
  });
  const activityId = deliveries[0]!.activityId;
  await page.goto(`${stack.emulator.url}/_emulator/chat?conversation=${encodeURIComponent(conversationId)}`);
  await page.waitForSelector("body[data-ready='1']", { timeout: 15_000 });
  const card = page.locator(`[data-id="${activityId}"] .ac-adaptiveCard`);
  await card.waitFor({ timeout: 15_000 });
  await card.getByText("Green", { exact: true }).click();
  await card.locator(".ac-pushButton", { hasText: "Vote" }).click();
  const stored = await eventually("the vote is stored", async () => {
    const r = await api(stack, "GET", `/v1/notifications/${id}/responses`);
    const items = r.json["items"] as { answer: string }[];
    return items.length > 0 ? items : undefined;
  });
  expect(stored).toMatchObject([{ answer: "Green", userId: stack.emulator.org.user(0).id }]);
  await expect.poll(async () => card.textContent(), { timeout: 10_000 }).toContain("your answer is recorded");
  expect(await card.textContent()).toContain("✔ Green");
}, 90_000);
