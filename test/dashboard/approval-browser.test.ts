import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchTestBrowser } from "../helpers/browser.js";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";
import { ensureDashboardBuilt } from "./build.js";

const stores = createStoreFactory("sqlite");
let stack: Stack;
let browser: Browser;
let tenant: string;
let person: string;
let authorKey: string;
let approverKey: string;

beforeAll(async () => {
  ensureDashboardBuilt();
  stack = await startStack(await stores.open(), {
    emulator: { org: { tenants: 1, users: 5, teams: 1, blockedShare: 0, uninstalledShare: 0 } },
  });
  await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
  const people = await eventually("5 personal chats", async () => {
    const items = (await call("GET", `${stack.heraldUrl}/v1/conversations?kind=personal`, undefined, STACK_API_KEY)).json["items"] as {
      tenantId: string;
      user: { name: string };
    }[];
    return items.length === 5 ? items : undefined;
  });
  tenant = people[0]!.tenantId;
  person = people[0]!.user.name;
  const key = async (name: string, scopes: string[], tenants?: string[]) =>
    String(
      (await call("POST", `${stack.heraldUrl}/v1/keys`, { name, scopes, ...(tenants ? { tenants } : {}) }, STACK_API_KEY)).json["key"],
    );
  // The author may read the directory (people search) and draft, only in this tenant.
  authorKey = await key("author", ["draft", "read"], [tenant]);
  approverKey = await key("approver", ["approve", "read"]);
  browser = await launchTestBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await stores.cleanup();
});

async function signedIn(apiKey: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.setDefaultTimeout(8_000);
  await page.goto(stack.heraldUrl);
  await page.getByLabel("API key").fill(apiKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  return page;
}

it("an author is refused an audience outside their tenants; their draft, approved by an approver, is sent", async () => {
  const author = await signedIn(authorKey);
  await author.getByRole("link", { name: "Compose" }).click();
  // A draft-only key sees no Send button: only drafting.
  expect(await author.getByRole("button", { name: "Send", exact: true }).count()).toBe(0);
  await author.getByRole("radio", { name: "Markdown" }).check();
  await author.getByLabel(/^Text/).fill("The **Lisbon office** is closed on Friday.");
  await author.getByLabel(/^Title/).fill("Lisbon closure");
  await author.getByLabel("Search people").fill(person.slice(0, 5));
  await author
    .getByRole("button", { name: new RegExp(person) })
    .first()
    .click();
  await author.getByLabel(/Tenant id/).fill("someone-elses-tenant");
  await author.getByRole("button", { name: "Save as draft for approval" }).click();
  await author.getByRole("alert").filter({ hasText: "may not reach tenant someone-elses-tenant" }).first().waitFor();
  expect((await call("GET", `${stack.heraldUrl}/v1/drafts`, undefined, STACK_API_KEY)).json["items"]).toEqual([]);

  await author.getByLabel(/Tenant id/).fill(tenant);
  await author.getByRole("button", { name: "Save as draft for approval" }).click();
  await author.getByRole("heading", { name: "Drafts" }).waitFor();
  await author.getByRole("button", { name: "Submit for approval" }).click();
  await author.getByTestId("draft-status").getByText("submitted").waitFor();
  expect((await new AxeBuilder({ page: author }).analyze()).violations.map((v) => v.id)).toEqual([]);

  const approver = await signedIn(approverKey);
  await approver.getByRole("link", { name: "Drafts" }).click();
  await approver.getByRole("heading", { name: "Lisbon closure" }).waitFor();
  // The approver approves what they can see: the message and its audience are on the page.
  const shown = approver.getByTestId("draft-request");
  await shown.waitFor({ timeout: 5_000 });
  expect(await shown.textContent()).toContain("The **Lisbon office** is closed on Friday.");
  expect(await shown.textContent()).toContain(tenant);
  await approver.getByRole("button", { name: "Approve and send" }).click();
  await approver.getByRole("link", { name: /^n_/ }).click();
  await approver.getByTestId("percent").getByText("100%").waitFor({ timeout: 20_000 });
  await approver.getByTestId("status").getByText("completed").waitFor();
});
