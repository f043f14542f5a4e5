import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchTestBrowser } from "../helpers/browser.js";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";
import { ensureDashboardBuilt } from "./build.js";

const images = resolve(dirname(fileURLToPath(import.meta.url)), "../../docs/images");
const USERS = 60;
const stores = createStoreFactory("sqlite");
let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** What the browser reported: CSP refusals and script errors must stay empty. */
const problems: string[] = [];

beforeAll(async () => {
  ensureDashboardBuilt();
  mkdirSync(images, { recursive: true });
  // 20 messages a second per tenant: a 60-person broadcast takes ~3 s, long enough to watch.
  stack = await startStack(await stores.open(), {
    emulator: { org: { tenants: 1, users: USERS, teams: 2, blockedShare: 0, uninstalledShare: 0 } },
    env: { HERALD_TENANT_RPS: "20" },
  });
  await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
  await eventually(`${USERS} personal chats stored`, async () => {
    const r = await call("GET", `${stack.heraldUrl}/v1/conversations?kind=personal&limit=1000`, undefined, STACK_API_KEY);
    return (r.json["items"] as unknown[]).length === USERS ? true : undefined;
  });
  for (const team of stack.emulator.org.teams)
    await call("POST", `${stack.emulator.url}/_emulator/install`, { teamId: team.id, wait: true });
  await eventually("the teams' channels stored", async () => {
    const r = await call("GET", `${stack.heraldUrl}/v1/conversations?kind=channel`, undefined, STACK_API_KEY);
    return (r.json["items"] as unknown[]).length >= stack.emulator.org.teams.length ? true : undefined;
  });
  browser = await launchTestBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("dialog", (d) => void d.accept());
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await stores.cleanup();
});

async function axe(p: Page): Promise<string[]> {
  const r = await new AxeBuilder({ page: p }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

describe("the dashboard in a browser", () => {
  it("signs in with an API key", async () => {
    await page.goto(stack.heraldUrl);
    await page.getByLabel("API key").fill("wrong-key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "not valid" }).waitFor();
    expect(await axe(page)).toEqual([]);
    await page.getByLabel("API key").fill(STACK_API_KEY);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Compose" }).waitFor();
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === "herald_session")).toMatchObject({ httpOnly: true, sameSite: "Strict" });
  });

  it("composes a card, previews it as a chosen person, picks an audience with an estimate, and sends", async () => {
    const card = {
      type: "AdaptiveCard",
      version: "1.5",
      body: [
        { type: "TextBlock", text: "Hello ${givenName}", size: "Large", weight: "Bolder", wrap: true },
        { type: "TextBlock", text: "The **Lisbon office** is closed on Friday for maintenance.", wrap: true },
        {
          type: "FactSet",
          facts: [
            { title: "Where", value: "Lisbon" },
            { title: "When", value: "Friday, all day" },
          ],
        },
      ],
    };
    await page.getByLabel(/Card JSON/).fill(JSON.stringify(card, null, 2));
    await page.getByLabel("Summary").fill("Lisbon office closed Friday");
    const people = (await call("GET", `${stack.heraldUrl}/v1/conversations?kind=personal&limit=1000`, undefined, STACK_API_KEY)).json[
      "items"
    ] as { user: { id: string; name: string } }[];
    const first = people[0]!.user.name;
    await page.getByLabel("Search people").fill(first.slice(0, 6));
    await page
      .getByRole("button", { name: new RegExp(first) })
      .first()
      .click();
    const given = first.split(/\s+/)[0]!;
    await page.getByTestId("preview").getByText(`Hello ${given}`).waitFor();
    await page.getByTestId("estimate").getByText("About 1 recipient.").waitFor();
    // Any person can be chosen to preview as.
    const second = people[1]!.user.name;
    await page.getByLabel("Preview as").selectOption({ label: second });
    await page
      .getByTestId("preview")
      .getByText(`Hello ${second.split(/\s+/)[0]}`)
      .waitFor();
    await page.getByLabel("Preview as").selectOption({ label: first });
    // A CSV of people adds to the chosen ones (the header names the column).
    const ids = people.slice(2, 4).map((p) => p.user.id);
    await page.getByLabel(/upload a CSV/).setInputFiles({
      name: "people.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(`name,id\nsomeone,${ids[0]}\nsomeone else,${ids[1]}\n`),
    });
    await page.getByTestId("estimate").getByText("About 3 recipients.").waitFor();
    // A team: one post in its General channel, or a 1:1 chat to each member (counted while sending).
    const team = stack.emulator.org.teams[0]!;
    await page.getByRole("radio", { name: "Teams" }).check();
    await page.getByLabel("Search teams").fill(team.name.slice(0, 4));
    await page.getByRole("button", { name: team.name }).first().click();
    await page.getByTestId("estimate").getByText("About 1 recipient.").waitFor();
    await page.getByRole("radio", { name: /1:1 chat to every member/ }).check();
    await page
      .getByTestId("estimate")
      .getByText(/roster while sending/)
      .waitFor();
    // Everyone instead: the estimate counts every stored personal chat.
    await page.getByRole("radio", { name: "Everyone" }).check();
    await page.getByTestId("estimate").getByText(`About ${USERS} recipients.`).waitFor();
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: resolve(images, "dashboard-compose.png"), fullPage: true });
    await page.getByRole("button", { name: "Send", exact: true }).click();
    await page.getByRole("heading", { name: /Notification/ }).waitFor();
  });

  it("watches live progress reach 100%, then shows the report with its CSV", async () => {
    // Mid-way (a quarter to three quarters sent), so the picture shows a moving bar.
    await page.waitForFunction(() => /^([3-7]\d)%$/.test(document.querySelector("[data-testid=percent]")?.textContent ?? ""), undefined, {
      timeout: 15_000,
      polling: 50,
    });
    await page.screenshot({ path: resolve(images, "dashboard-progress.png") });
    await page.getByTestId("percent").getByText("100%").waitFor({ timeout: 30_000 });
    await page.getByTestId("status").getByText("completed").waitFor();
    await page.getByRole("img", { name: new RegExp(`sent ${USERS}`) }).waitFor();
    await page.getByRole("heading", { name: /Deliveries/ }).waitFor();
    await page.getByRole("img", { name: new RegExp(`Messages sent over time: ${USERS} sent`) }).waitFor();
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: resolve(images, "dashboard-report.png") });
    const csvHref = await page.getByRole("link", { name: /Download deliveries/ }).getAttribute("href");
    const csv = await page.evaluate(async (href) => (await fetch(href ?? "")).text(), csvHref);
    expect(csv.split("\n").filter((l) => l.trim()).length).toBe(USERS + 1);
  });

  it("edits the message everywhere, then recalls it, from the page", async () => {
    const id = decodeURIComponent(page.url().split("#/n/")[1] ?? "");
    await page.getByRole("button", { name: "Edit message" }).click();
    await page.getByLabel(/New message/).fill("The Lisbon office is **open** on Friday after all.");
    await page.getByRole("button", { name: "Save edit everywhere" }).click();
    await page.getByText(new RegExp(`Edit: ${USERS} updated, 0 to go`)).waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Recall" }).click();
    await page
      .getByTestId("recall")
      .getByText(new RegExp(`Recall: ${USERS} deleted, 0 to go`))
      .waitFor({ timeout: 30_000 });
    const view = await call("GET", `${stack.heraldUrl}/v1/notifications/${id}`, undefined, STACK_API_KEY);
    expect(view.json["status"]).toBe("canceled");
    expect(view.json["messageVersion"]).toBe(2);
  });

  it("shows message text with HTML and script in it as text, and never runs it", async () => {
    await page.goto(`${stack.heraldUrl}/#/compose`);
    await page.getByRole("radio", { name: "Markdown" }).check();
    const evil = `**Hi** <img src=x onerror="window.__xss=1"><script>window.__xss=2</script> [x](javascript:window.__xss=3)`;
    await page.getByLabel(/^Text/).fill(evil);
    const preview = page.getByTestId("preview");
    await preview.getByText("<script>window.__xss=2</script>", { exact: false }).waitFor({ timeout: 5000 });
    expect(await preview.locator("img, script, a[href^='javascript']").count()).toBe(0);
    await page.getByRole("radio", { name: "Plain text" }).check();
    await preview.getByText('<img src=x onerror="window.__xss=1">', { exact: false }).waitFor();
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
  });

  it("creates an API key on the keys page; the audit log and the blocked report have their pages", async () => {
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByLabel("New key's name").fill("reporting");
    await page.getByRole("checkbox", { name: "read" }).check();
    await page.getByLabel("Team ids").fill("19:team-a@thread.tacv2, 19:team-b@thread.tacv2");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.getByRole("status").getByText("shown once").waitFor();
    await page.getByRole("cell", { name: "reporting" }).waitFor();
    // The guardrail reached the API: the key is limited to those two teams.
    await page.getByRole("cell", { name: "19:team-a@thread.tacv2, 19:team-b@thread.tacv2" }).waitFor();
    expect(await axe(page)).toEqual([]);
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByRole("cell", { name: "key.create" }).waitFor();
    await page.getByRole("cell", { name: "DELETE /v1/notifications/:id" }).first().waitFor();
    expect(await axe(page)).toEqual([]);
    await page.getByRole("link", { name: "Blocked" }).click();
    await page.getByText("Nobody has blocked or uninstalled the bot.").waitFor();
    expect(await axe(page)).toEqual([]);
  });

  it("works on a phone's screen, and the browser reported no CSP refusal or script error", async () => {
    const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phoneContext.addCookies(await context.cookies());
    const phone = await phoneContext.newPage();
    await phone.goto(`${stack.heraldUrl}/#/notifications`);
    await phone.getByRole("heading", { name: "Notifications" }).waitFor();
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await axe(phone)).toEqual([]);
    await phone.screenshot({ path: resolve(images, "dashboard-phone.png") });
    await phoneContext.close();
    expect(problems.filter((p) => !p.includes("401"))).toEqual([]);
  });
});
