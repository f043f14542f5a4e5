import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchTestBrowser } from "../helpers/browser.js";
import { type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";
import { SurveyDriver } from "../surveys/helpers.js";

/**
 * Issue 10: the emulator's chat page lets a person answer a survey by hand: a click on a choice
 * (an `Action.Submit` imBack button) and a typed answer in the composer both reach Herald.
 */
const stores = createStoreFactory("sqlite");
let stack: Stack;
let browser: Browser;
let page: Page;
let driver: SurveyDriver;

beforeAll(async () => {
  const store = await stores.open();
  stack = await startStack(store, { emulator: { org: { tenants: 1, users: 1, teams: 0, blockedShare: 0, uninstalledShare: 0 } } });
  driver = new SurveyDriver(() => stack, store);
  browser = await launchTestBrowser();
  page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await stores.cleanup();
});

it("a person clicks a choice and types an answer in the chat page; both are stored", async () => {
  const [ann] = await driver.people(1);
  if (!ann) throw new Error("no user");
  const id = await driver.survey([ann.id], {
    questions: [
      { id: "colour", text: "Which colour?", choices: ["Green", "Blue"] },
      { id: "why", text: "Why that one?" },
    ],
    outro: "Thanks!",
  });
  await page.goto(`${stack.emulator.url}/_emulator/chat?conversation=${encodeURIComponent(ann.chat)}`);
  await page.waitForSelector("body[data-ready='1']", { timeout: 15_000 });
  const blue = page.getByRole("button", { name: "Blue" });
  await blue.waitFor({ timeout: 15_000 });
  await blue.click();
  await page.getByText("Why that one?").waitFor({ timeout: 15_000 });
  await page.locator("#compose").fill("It is calm");
  await page.locator("#compose").press("Enter");
  await page.getByText("Thanks!").waitFor({ timeout: 15_000 });
  expect(await driver.answers(id)).toEqual([
    { question: "colour", text: "Blue", choice: "Blue" },
    { question: "why", text: "It is calm" },
  ]);
});
