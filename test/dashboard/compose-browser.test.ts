import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { launchTestBrowser } from "../helpers/browser.js";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";
import { ensureDashboardBuilt } from "./build.js";

type Json = Record<string, unknown>;
interface Person {
  id: string;
  name: string;
  tenantId: string;
  conversationId: string;
}

/** Compose's templates, polls, schedules and test sends, in a real Chromium against Herald and the emulator. */
const stores = createStoreFactory("sqlite");
/** The README's screenshot of a poll in Compose is taken here. */
const images = resolve(dirname(fileURLToPath(import.meta.url)), "../../docs/images");
let stack: Stack;
let browser: Browser;
let page: Page;
let people: Person[];
const problems: string[] = [];

beforeAll(async () => {
  ensureDashboardBuilt();
  mkdirSync(images, { recursive: true });
  stack = await startStack(await stores.open(), {
    emulator: { org: { tenants: 1, users: 4, teams: 1, blockedShare: 0, uninstalledShare: 0 } },
  });
  await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
  people = await eventually("4 personal chats", async () => {
    const items = (await call("GET", `${stack.heraldUrl}/v1/conversations?kind=personal`, undefined, STACK_API_KEY)).json["items"] as {
      id: string;
      tenantId: string;
      user: { id: string; name: string };
    }[];
    return items.length === 4
      ? items.map((i) => ({ id: i.user.id, name: i.user.name, tenantId: i.tenantId, conversationId: i.id }))
      : undefined;
  });
  browser = await launchTestBrowser();
  page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.setDefaultTimeout(8_000);
  page.on("pageerror", (e) => problems.push(e.message));
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

/** A fresh Compose page (the form's state starts over). */
async function freshCompose(): Promise<void> {
  await page.goto(`${stack.heraldUrl}/#/notifications`);
  await page.getByRole("link", { name: "Compose" }).click();
  await page.getByRole("heading", { name: "Compose" }).waitFor();
}

async function pickPerson(p: Person): Promise<void> {
  await page.getByLabel("Search people").fill(p.name.slice(0, 6));
  await page
    .getByRole("button", { name: new RegExp(p.name) })
    .first()
    .click();
}

/** The body of the next `method path` request the page makes while `act` runs. */
async function requestOf(method: string, path: string, act: () => Promise<void>): Promise<Json> {
  const [req] = await Promise.all([page.waitForRequest((r) => r.method() === method && new URL(r.url()).pathname === path), act()]);
  return req.postDataJSON() as Json;
}

/** The messages the emulator keeps in a conversation, as JSON text. */
async function chat(conversationId: string): Promise<string> {
  const res = await fetch(`${stack.emulator.url}/_emulator/conversations/${encodeURIComponent(conversationId)}/messages`);
  return JSON.stringify(await res.json());
}

describe("Compose in a browser", () => {
  it("saves a template, then starts a new message from it", async () => {
    await freshCompose();
    await page.getByRole("radio", { name: "Markdown" }).check();
    await page.getByLabel(/^Text/).fill("Hello ${givenName}, the **stand-up** moves to 10:00.");
    await page.getByLabel("Summary").fill("Stand-up moved");
    await page.getByLabel(/^Category/).fill("team-news");
    await page.getByLabel(/Urgent \(passes/).check();
    await page.getByLabel("Save what is composed as a template named").fill("Stand-up change");
    await page.getByRole("button", { name: "Save as template" }).click();
    await page.getByRole("status").filter({ hasText: 'Saved the template "Stand-up change"' }).waitFor();
    const saved = (await call("GET", `${stack.heraldUrl}/v1/templates`, undefined, STACK_API_KEY)).json["items"] as Json[];
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatchObject({
      name: "Stand-up change",
      message: { text: "Hello ${givenName}, the **stand-up** moves to 10:00.", textFormat: "markdown", summary: "Stand-up moved" },
      category: "team-news",
      options: { priority: "urgent" },
      createdBy: "env:HERALD_API_KEY",
    });

    // A new Compose starts from the sample card; the template brings everything back.
    await freshCompose();
    expect(await page.getByLabel(/Card JSON/).inputValue()).toContain("AdaptiveCard");
    await page.getByLabel("Start from a template").selectOption({ label: "Stand-up change (team-news)" });
    await page.getByRole("button", { name: "Use template" }).click();
    expect(await page.getByLabel(/^Text/).inputValue()).toBe("Hello ${givenName}, the **stand-up** moves to 10:00.");
    expect(await page.getByRole("radio", { name: "Markdown" }).isChecked()).toBe(true);
    expect(await page.getByLabel("Summary").inputValue()).toBe("Stand-up moved");
    expect(await page.getByLabel(/^Category/).inputValue()).toBe("team-news");
    expect(await page.getByLabel(/Urgent \(passes/).isChecked()).toBe(true);
    await page.getByTestId("preview").getByText("Hello Ada, the stand-up moves to 10:00.").waitFor();
    // And what is sent from it is the template's message.
    await pickPerson(people[0]!);
    const sent = await requestOf("POST", "/v1/notifications", () => page.getByRole("button", { name: "Send", exact: true }).click());
    expect(sent).toMatchObject({ message: saved[0]!["message"], category: "team-news", priority: "urgent" });
    await page.getByTestId("status").getByText("completed").waitFor({ timeout: 15_000 });
  });

  it("composes a poll: the preview shows its card, and the notification sent carries it", async () => {
    await freshCompose();
    await page.getByRole("radio", { name: "Markdown" }).check();
    await page.getByLabel(/^Text/).fill("Lunch on Friday, ${givenName}?");
    await page.getByRole("radio", { name: "Poll" }).check();
    await page.getByLabel("Poll question").fill("Where shall we eat?");
    await page.getByLabel(/^Poll options/).fill("Pizza\nSushi\nTacos");
    await page.getByLabel(/pick several options/).check();
    const preview = page.getByTestId("preview");
    await preview.getByText("Where shall we eat?").waitFor();
    for (const option of ["Pizza", "Sushi", "Tacos"]) await preview.getByText(option, { exact: true }).waitFor();
    await preview.getByText("Pick one or more.").waitFor();
    await preview.getByRole("button", { name: "Vote" }).waitFor();
    await preview.getByText("Lunch on Friday, Ada?").waitFor();
    // A poll with a card is refused in the page too (the API refuses it as well).
    await page.getByRole("radio", { name: "Adaptive Card (JSON)" }).check();
    await page.getByRole("alert").filter({ hasText: "A poll is its own card" }).waitFor();
    await page.getByRole("radio", { name: "Markdown" }).check();
    await page.getByLabel(/^Text/).fill("Lunch on Friday, ${givenName}?");

    // An acknowledgement and a survey preview as they are asked too.
    await page.getByRole("radio", { name: "Acknowledgement" }).check();
    await page.getByLabel(/Acknowledgement button's text/).fill("Got it");
    await preview.getByRole("button", { name: "Got it" }).waitFor();
    await page.getByRole("radio", { name: "Survey" }).check();
    await page.getByLabel("Survey introduction").fill("Three quick questions about the offsite.");
    await page.getByLabel(/^Survey questions/).fill("How was the venue?\nGreat\nFine\nPoor\n\nWhat should we change?");
    await preview.getByText("Three quick questions about the offsite.").waitFor();
    await preview.getByText("How was the venue?").waitFor();
    await preview.getByRole("button", { name: "Great" }).waitFor();

    await page.getByRole("radio", { name: "Poll" }).check();
    await preview.getByText("Where shall we eat?").waitFor();
    const to = people[1]!;
    await pickPerson(to);
    await page.screenshot({ path: resolve(images, "dashboard-compose-poll.png"), fullPage: true });
    const sent = await requestOf("POST", "/v1/notifications", () => page.getByRole("button", { name: "Send", exact: true }).click());
    expect(sent["message"]).toEqual({
      text: "Lunch on Friday, ${givenName}?",
      textFormat: "markdown",
      poll: { question: "Where shall we eat?", options: ["Pizza", "Sushi", "Tacos"], multiple: true },
    });
    await page.getByTestId("status").getByText("completed").waitFor({ timeout: 15_000 });
    const kept = await eventually("the poll in the person's chat", async () => {
      const text = await chat(to.conversationId);
      return text.includes("Where shall we eat?") ? text : undefined;
    });
    for (const part of [
      "Input.ChoiceSet",
      "Pizza",
      "Sushi",
      "Tacos",
      "herald.response.poll",
      `Lunch on Friday, ${to.name.split(/\s+/)[0]}?`,
    ])
      expect(kept).toContain(part);
    expect(problems).toEqual([]);
  });

  it("schedules at each person's local time, and as a recurring series; the API gets those schedules", async () => {
    await freshCompose();
    await page.getByRole("radio", { name: "Markdown" }).check();
    await page.getByLabel(/^Text/).fill("Good morning, ${givenName}.");
    await pickPerson(people[2]!);
    await page.getByRole("radio", { name: "At each person's local time" }).check();
    await page.getByLabel(/^Local time/).fill("09:30");
    await page.getByLabel(/^On \(optional/).fill("2030-03-04");
    await page.getByLabel(/^Time zone of people whose zone is unknown/).fill("Europe/Lisbon");
    await page.getByRole("radio", { name: "Send the next day" }).check();
    const local = await requestOf("POST", "/v1/notifications", () => page.getByRole("button", { name: "Schedule", exact: true }).click());
    expect(local["schedule"]).toEqual({ localTime: "09:30", date: "2030-03-04", timeZone: "Europe/Lisbon", ifPassed: "nextDay" });
    await page.waitForURL(/#\/n\//);
    const id = decodeURIComponent(page.url().split("#/n/")[1] ?? "");
    const view = (await call("GET", `${stack.heraldUrl}/v1/notifications/${id}`, undefined, STACK_API_KEY)).json;
    expect(view).toMatchObject({ status: "scheduled", schedule: { localTime: "09:30", date: "2030-03-04", ifPassed: "nextDay" } });

    await freshCompose();
    await page.getByRole("radio", { name: "Markdown" }).check();
    await page.getByLabel(/^Text/).fill("Weekly reminder: timesheets.");
    await pickPerson(people[2]!);
    await page.getByRole("radio", { name: "Recurring" }).check();
    await page.getByLabel(/^Repeats/).fill("0 8 * * 1");
    await page.getByLabel(/^Time zone the times are in/).fill("Europe/Lisbon");
    await page.getByLabel(/in each person's own time zone/).check();
    await page.getByLabel(/^Until/).fill("2031-01-01T00:00");
    const recurring = await requestOf("POST", "/v1/notifications", () =>
      page.getByRole("button", { name: "Create the series", exact: true }).click(),
    );
    const until = new Date(2031, 0, 1, 0, 0).toISOString();
    expect(recurring["schedule"]).toEqual({ cron: "0 8 * * 1", timeZone: "Europe/Lisbon", localTime: true, until });
    await page.getByRole("alert").filter({ hasText: "Created the recurring series" }).waitFor();
    const series = (await call("GET", `${stack.heraldUrl}/v1/series`, undefined, STACK_API_KEY)).json["items"] as Json[];
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({
      state: "active",
      schedule: { cron: "0 8 * * 1", timeZone: "Europe/Lisbon", localTime: true, until },
      message: { text: "Weekly reminder: timesheets." },
    });
    // A bad cron is refused by the API, naming the field, and shown.
    await page.getByLabel(/^Repeats/).fill("every monday");
    await page.getByRole("button", { name: "Create the series", exact: true }).click();
    await page.getByRole("alert").filter({ hasText: "schedule" }).filter({ hasText: "cron" }).waitFor();
  });

  it("sends a test to myself: only that person gets it, as a notification of its own", async () => {
    await freshCompose();
    const me = people[3]!;
    const audience = [people[0]!, people[1]!];
    await page.getByRole("radio", { name: "Markdown" }).check();
    await page.getByLabel(/^Text/).fill("Quarterly results are out, ${givenName}: **read them**.");
    for (const p of audience) await pickPerson(p);
    await page.getByRole("radio", { name: "Acknowledgement" }).check();
    await page.getByLabel("You in Teams (remembered in this browser)").selectOption({ label: me.name });
    const before = ((await call("GET", `${stack.heraldUrl}/v1/notifications`, undefined, STACK_API_KEY)).json["items"] as Json[]).length;
    const sent = await requestOf("POST", "/v1/notifications/test", () =>
      page.getByRole("button", { name: "Send a test to myself" }).click(),
    );
    expect(sent).toMatchObject({
      userId: me.id,
      tenantId: me.tenantId,
      message: { text: "Quarterly results are out, ${givenName}: **read them**.", ack: {} },
    });
    await page
      .getByRole("status")
      .filter({ hasText: `Test sent to ${me.name} only` })
      .waitFor();
    const text = await eventually("the test in my chat", async () => {
      const t = await chat(me.conversationId);
      return t.includes("Quarterly results are out") ? t : undefined;
    });
    expect(text).toContain(`Quarterly results are out, ${me.name.split(/\s+/)[0]}`);
    expect(text).toContain("herald.response.ack");
    // Nobody of the audience got it, and it is one notification of one recipient.
    for (const p of [...audience, people[2]!]) expect(await chat(p.conversationId)).not.toContain("Quarterly results are out");
    const items = (await call("GET", `${stack.heraldUrl}/v1/notifications`, undefined, STACK_API_KEY)).json["items"] as Json[];
    expect(items).toHaveLength(before + 1);
    expect(items[0]).toMatchObject({ total: 1, priority: "urgent" });
    // The choice of "me" is remembered in this browser.
    await freshCompose();
    await expect.poll(() => page.getByLabel("You in Teams (remembered in this browser)").inputValue(), { timeout: 5_000 }).toBe(me.id);
    expect((await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa"]).analyze()).violations.map((v) => v.id)).toEqual([]);
  });

  it("lists every template in the picker, past the first page of 500", async () => {
    const store: Store = await stores.open();
    const at = "2026-12-01T09:00:00.000Z";
    for (let i = 0; i < 510; i++)
      await store.templates?.create({
        id: `t_many${i}`,
        name: i === 509 ? "Zz the last template" : `Many ${String(i).padStart(3, "0")}`,
        message: { text: "Hi" },
        options: {},
        createdBy: "k_bulk",
        updatedBy: "k_bulk",
        createdAt: at,
        updatedAt: at,
      });
    await freshCompose();
    await page.getByLabel("Start from a template").selectOption({ label: "Zz the last template" });
    await page.getByRole("button", { name: "Use template" }).click();
    await page.getByRole("status").filter({ hasText: 'Started from the template "Zz the last template"' }).waitFor();
    for (let i = 0; i < 510; i++) await store.templates?.delete(`t_many${i}`);
  });

  it("Use template keeps text beside a card as the template has it (plain stays plain)", async () => {
    const message = {
      text: "Plain *not bold* words",
      textFormat: "plain",
      card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "The card", wrap: true }] },
    };
    const saved = await call("POST", `${stack.heraldUrl}/v1/templates`, { name: "Card with plain text", message }, STACK_API_KEY);
    expect(saved.status).toBe(201);
    await freshCompose();
    await page.getByLabel("Start from a template").selectOption({ label: "Card with plain text" });
    await page.getByRole("button", { name: "Use template" }).click();
    expect(JSON.parse(await page.getByLabel(/Card JSON/).inputValue())).toEqual(message.card);
    await page.getByTestId("card-text").getByText("Plain *not bold* words").waitFor();
    await pickPerson(people[0]!);
    const sent = await requestOf("POST", "/v1/notifications", () => page.getByRole("button", { name: "Send", exact: true }).click());
    expect(sent["message"]).toEqual(message);
    await page.getByTestId("status").getByText("completed").waitFor({ timeout: 15_000 });
  });

  it("a double click on the test button sends one test, with an idempotencyKey", async () => {
    await freshCompose();
    const me = people[3]!;
    await page.getByRole("radio", { name: "Markdown" }).check();
    await page.getByLabel(/^Text/).fill("Double click test ${givenName}");
    await page.getByLabel("You in Teams (remembered in this browser)").selectOption({ label: me.name });
    const posted: Json[] = [];
    const seen = (r: import("playwright-core").Request) => {
      if (r.method() === "POST" && new URL(r.url()).pathname === "/v1/notifications/test") posted.push(r.postDataJSON() as Json);
    };
    page.on("request", seen);
    // Two clicks before the page can render the button disabled.
    await page.getByRole("button", { name: "Send a test to myself" }).evaluate((b: HTMLButtonElement) => {
      b.click();
      b.click();
    });
    await page
      .getByRole("status")
      .filter({ hasText: `Test sent to ${me.name} only` })
      .waitFor();
    page.off("request", seen);
    expect(posted).toHaveLength(1);
    expect(posted[0]?.["idempotencyKey"]).toMatch(/^test-[0-9a-f]{32}$/);
    await eventually("the test in my chat", async () => ((await chat(me.conversationId)).includes("Double click test") ? true : undefined));
    expect((await chat(me.conversationId)).split("Double click test").length - 1).toBe(1);
  });

  it("a draft-only session has no test button: it says a test needs the send scope", async () => {
    const created = await call("POST", `${stack.heraldUrl}/v1/keys`, { name: "draft only", scopes: ["draft"] }, STACK_API_KEY);
    expect(created.status).toBe(201);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const drafter = await context.newPage();
    drafter.setDefaultTimeout(8_000);
    await drafter.goto(stack.heraldUrl);
    await drafter.getByLabel("API key").fill(String(created.json["key"]));
    await drafter.getByRole("button", { name: "Sign in" }).click();
    await drafter.getByRole("heading", { name: "Compose" }).waitFor();
    await drafter.getByRole("button", { name: "Save as draft for approval" }).waitFor();
    await drafter.getByText(/A test to yourself .* needs the "send" scope/).waitFor();
    expect(await drafter.getByRole("button", { name: "Send a test to myself" }).count()).toBe(0);
    await context.close();
  });
});
