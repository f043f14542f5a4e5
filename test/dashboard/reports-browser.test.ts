import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { startGraphStack } from "../graph/stack.js";
import { launchTestBrowser } from "../helpers/browser.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";
import { control, sendAndWait } from "../responses/helpers.js";
import { SurveyDriver } from "../surveys/helpers.js";
import { ensureDashboardBuilt } from "./build.js";

/**
 * Issue 12, the watching and reporting side of the dashboard in a real Chromium: a poll's
 * per-option chart and read receipts, a survey's answers, the opt-outs page, an installation
 * job started from the page reaching its end, a recurring series paused and resumed from the
 * page, axe on every page and a 390 px wide phone with no horizontal overflow.
 */
const images = resolve(dirname(fileURLToPath(import.meta.url)), "../../docs/images");
const USERS = 14;
const stores = createStoreFactory("sqlite");
let store: Store;
let stack: Stack;
let driver: SurveyDriver;
let people: { id: string; chat: string }[];
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pollId = "";
const problems: string[] = [];

const tenantId = () => stack.emulator.org.tenants[0]!.id;
const api = (method: string, path: string, body?: unknown) => call(method, `${stack.heraldUrl}${path}`, body, STACK_API_KEY);

beforeAll(async () => {
  ensureDashboardBuilt();
  mkdirSync(images, { recursive: true });
  store = await stores.open();
  stack = await startGraphStack(store, { emulator: { org: { tenants: 1, users: USERS, teams: 0, blockedShare: 0, uninstalledShare: 0 } } });
  driver = new SurveyDriver(() => stack, store);
  // The first ten installed and welcomed (so the bot's latest message in each chat is what is sent next).
  people = await driver.people(10);
  browser = await launchTestBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("dialog", (d) => void d.accept());
  await page.goto(stack.heraldUrl);
  await page.getByLabel("API key").fill(STACK_API_KEY);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Compose" }).waitFor();
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

/** A wait that fails in seconds when the page lacks what it waits for (the page before this change). */
const quick = { timeout: 10_000 };

describe("the dashboard's reports in a browser", () => {
  it("a poll's report: votes per option as a chart and a table, read receipts, the responses CSV", async () => {
    const chats = people.slice(0, 8).map((p) => p.chat);
    const sent = await sendAndWait(stack, {
      audience: { conversations: chats },
      message: { poll: { question: "Coffee, tea or water?", options: ["Coffee", "Tea", "Water"] } },
    });
    pollId = sent.id;
    // Three people read it; five vote (three Coffee, two Tea, nobody Water).
    await control(stack, "/_emulator/reads", { users: [0, 1, 5] });
    for (const [users, choice] of [
      [[0, 1, 2], "0"],
      [[3, 4], "1"],
    ] as const) {
      const r = await control(stack, "/_emulator/invokes", { users, verb: "herald.response.poll", data: { heraldChoice: choice } });
      expect(Object.keys(r["statuses"] as object)).toEqual(["200"]);
    }
    await page.goto(`${stack.heraldUrl}/#/n/${encodeURIComponent(pollId)}`);
    await page.getByTestId("status").getByText("completed").waitFor();
    await page.getByRole("img", { name: "Votes per option: Coffee 3 (60%), Tea 2 (40%), Water 0 (0%)" }).waitFor(quick);
    // The same numbers as a table (the chart's alternative).
    await page.getByTestId("poll-chart").getByText("Show as a table").click();
    const table = page.getByTestId("poll-chart").getByRole("table");
    expect(await table.getByRole("row").allInnerTexts()).toEqual(["Answer\tCount", "Coffee\t3 (60%)", "Tea\t2 (40%)", "Water\t0 (0%)"]);
    await page.getByTestId("answered").getByText("5 answered").waitFor();
    // Read receipts: the count, and a read time on exactly the three deliveries read.
    await page.getByTestId("reads").getByText("3 read of 8 sent").waitFor(quick);
    const readCells = await page
      .locator("section[aria-labelledby=deliveries] tbody tr")
      .evaluateAll((rows) => rows.filter((r) => (r.lastElementChild?.textContent ?? "").trim() !== "").length);
    expect(readCells).toBe(3);
    // `read` is not an outcome (it is counted among the sent): the outcome chart leaves it out.
    expect(await page.getByRole("img", { name: /Recipients by outcome/ }).getAttribute("aria-label")).not.toMatch(/read/);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: resolve(images, "dashboard-poll-report.png"), fullPage: true });
    const href = await page.getByRole("link", { name: "Download responses (CSV)" }).getAttribute("href");
    const csv = await page.evaluate(async (h) => (await fetch(h ?? "")).text(), href);
    const lines = csv.split(/\r?\n/).filter((l) => l.trim());
    expect(lines).toHaveLength(6);
    expect(lines.filter((l) => l.includes(",Coffee,"))).toHaveLength(3);
  });

  it("a survey's report: each question's answers counted", async () => {
    const [ann, bob] = [people[8]!, people[9]!];
    const id = await driver.survey([ann.id, bob.id], {
      questions: [
        { id: "colour", text: "Which colour for the walls?", choices: ["Green", "Blue", "White"] },
        { id: "why", text: "Why that one?" },
      ],
    });
    for (const [who, answers] of [
      [ann, ["2", "It is calm"]],
      [bob, ["Blue", "Like the sea"]],
    ] as const) {
      await driver.said(who.chat, /Which colour/);
      await driver.type(who.id, answers[0]);
      await driver.said(who.chat, /Why that one/);
      await driver.type(who.id, answers[1]);
    }
    await eventually("four answers stored", async () => ((await driver.answers(id)).length === 4 ? true : undefined));
    await page.goto(`${stack.heraldUrl}/#/n/${encodeURIComponent(id)}`);
    await page.getByRole("img", { name: "Answers to colour: Blue 2 (100%)" }).waitFor(quick);
    await page.getByRole("img", { name: /^Answers to why: / }).waitFor();
    await page.getByText("2 answered the survey").waitFor();
    expect(await axe(page)).toEqual([]);
  });

  it("the opt-outs page lists who opted out, with the counts as a chart and the CSV", async () => {
    const who = people[9]!;
    const r = await api("PUT", `/v1/users/${encodeURIComponent(who.id)}/preferences`, { tenantId: tenantId(), optedOut: true });
    expect(r.status).toBe(200);
    const name = stack.emulator.org.user(9).name;
    await page.goto(`${stack.heraldUrl}/#/compose`);
    await page.getByRole("link", { name: "Opt-outs" }).click(quick);
    await page.getByRole("heading", { name: "Opt-outs" }).waitFor();
    await page.getByRole("cell", { name, exact: true }).waitFor(quick);
    await page.getByRole("cell", { name: "everything" }).waitFor();
    await page.getByRole("img", { name: "People opted out, per category: everything 1" }).waitFor();
    expect(await axe(page)).toEqual([]);
    const csv = await page.evaluate(async () => (await fetch("/v1/reports/opt-outs?format=csv")).text());
    expect(csv).toContain(who.id);
  });

  it("the installations page starts a job for a whole tenant and shows its counts reaching the end", async () => {
    // Two people without the app: the job installs them and finds it already there for the rest.
    for (const i of [12, 13])
      await call("PATCH", `${stack.emulator.url}/_emulator/users/${encodeURIComponent(stack.emulator.org.user(i).id)}`, {
        uninstalled: true,
      });
    await page.getByRole("link", { name: "Installations" }).click(quick);
    await page.getByText("No installation jobs yet.").waitFor();
    await page.getByLabel("Tenant id").fill(tenantId());
    await page.getByRole("radio", { name: "Everyone in the tenant" }).check();
    await page.getByRole("button", { name: "Start installing" }).click();
    const row = page.locator("tbody tr").first();
    await row.getByTestId("job-status").getByText("completed").waitFor({ timeout: 30_000 });
    const cells = await row.getByRole("cell").allInnerTexts();
    // People, installed, already had it, refused, failed.
    expect(cells.slice(3, 8)).toEqual([String(USERS), "2", String(USERS - 2), "0", "0"]);
    const listed = await api("GET", "/v1/installations");
    const job = (listed.json["items"] as { id: string; counts: unknown }[])[0]!;
    expect(job.counts).toEqual({ installed: 2, alreadyInstalled: USERS - 2, refused: 0, failed: 0 });
    // The tenant's installs as Herald knows them (its stored 1:1 chats), as the estimate API counts them.
    const chats = await eventually("the two new chats stored", async () => {
      const e = await api("POST", "/v1/audiences/estimate", { audience: { all: true, tenantId: tenantId() } });
      return (e.json["recipients"] as number) >= 12 ? (e.json["recipients"] as number) : undefined;
    });
    // (Installs reach Herald just after the job ends; the page asks when it opens and when a job ends.)
    await page.reload();
    await page.getByLabel("Tenant id").fill(tenantId());
    await page.getByTestId("installed-now").getByText(`Herald has a chat with ${chats} people in this tenant`).waitFor(quick);
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: resolve(images, "dashboard-installations.png") });
    // A bad request is refused by the API and shown: a group job without a group.
    await page.getByRole("radio", { name: "Groups' members" }).check();
    await page.getByRole("button", { name: "Start installing" }).click();
    await page.getByRole("alert").getByText("Name at least one group").waitFor();
  });

  it("the series page pauses and resumes a recurring series (the API's state follows); a run links to its report", async () => {
    const created = await api("POST", "/v1/series", {
      audience: { conversations: [people[0]!.chat] },
      message: { text: "Weekly reminder: timesheets" },
      schedule: { cron: "0 9 * * 1", timeZone: "Europe/London" },
    });
    expect(created.status).toBe(201);
    const id = created.json["id"] as string;
    const state = async () => (await api("GET", `/v1/series/${id}`)).json["state"];
    await page.getByRole("link", { name: "Series" }).click(quick);
    const row = page.getByTestId(`series-${id}`);
    await row.getByText("Weekly reminder: timesheets").waitFor();
    await row.getByTestId("series-state").getByText("active").waitFor();
    await row.getByRole("button", { name: `Pause ${id}` }).click();
    await row.getByTestId("series-state").getByText("paused").waitFor();
    expect(await state()).toBe("paused");
    expect(await axe(page)).toEqual([]);
    await page.screenshot({ path: resolve(images, "dashboard-series.png") });
    await row.getByRole("button", { name: `Resume ${id}` }).click();
    await row.getByTestId("series-state").getByText("active").waitFor();
    expect(await state()).toBe("active");
    await row.getByRole("button", { name: `Runs of ${id}` }).click();
    await page.getByText("No runs yet.").waitFor();
    // A run: the series made due a second ago (its cron is weekly), started by Herald's series loop.
    await store.series!.update(id, { nextRunAt: Date.now() - 1_000 }, ["active"], Date.now());
    const run = await eventually(
      "the series ran",
      async () => {
        const s = (await api("GET", `/v1/series/${id}`)).json;
        const runs = (s["recentRuns"] ?? []) as { notificationId: string }[];
        return runs[0]?.notificationId;
      },
      20_000,
    );
    await page.reload();
    await row.getByRole("button", { name: `Runs of ${id}` }).click();
    // Each run links to its notification's report (from the runs list; the row also links the last run's).
    await row.getByRole("link", { name: "last run's report" }).waitFor();
    await page
      .getByRole("listitem")
      .locator(`a[href="#/n/${encodeURIComponent(run)}"]`)
      .click();
    await page.getByRole("heading", { name: `Notification ${run}` }).waitFor(quick);
  });

  it("every new page fits a 390 px wide phone (no horizontal overflow) and passes axe; no script error", async () => {
    const phoneContext = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phoneContext.addCookies(await context.cookies());
    const phone = await phoneContext.newPage();
    phone.on("pageerror", (e) => problems.push(e.message));
    for (const [hash, heading, ready] of [
      [`n/${encodeURIComponent(pollId)}`, /Notification/, /Votes per option/],
      ["opt-outs", /Opt-outs/, /People opted out/],
      ["installations", /Installations/, undefined],
      ["series", /Recurring series/, undefined],
    ] as const) {
      await phone.goto(`${stack.heraldUrl}/#/${hash}`);
      await phone.getByRole("heading", { name: heading }).waitFor(quick);
      if (ready) await phone.getByRole("img", { name: ready }).waitFor(quick);
      const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      const wide = await phone.evaluate(() =>
        Array.from(document.querySelectorAll("body *"))
          .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
          .slice(0, 5)
          .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
      );
      expect(overflow, `${hash}: ${wide.join("; ")}`).toBeLessThanOrEqual(0);
      expect(await axe(phone), hash).toEqual([]);
      if (hash.startsWith("n/")) await phone.screenshot({ path: resolve(images, "dashboard-phone-report.png"), fullPage: true });
    }
    await phoneContext.close();
    expect(problems.filter((p) => !p.includes("401"))).toEqual([]);
  });
});
