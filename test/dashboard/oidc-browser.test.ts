import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchTestBrowser } from "../helpers/browser.js";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";
import { ensureDashboardBuilt } from "./build.js";

/**
 * Sign-in with the organisation's OpenID Connect provider (issue 12), end to end in Chromium
 * against the emulator's OIDC subset: app roles in the ID token become Herald scopes; an approver
 * approves, an author cannot; a tampered state, a wrong nonce, an expired or a forged ID token,
 * and a person without a Herald role are refused with no session.
 */

const stores = createStoreFactory("sqlite");
const CLIENT_ID = "herald-dashboard-client";
const CLIENT_SECRET = "oidc-client-secret-for-tests";
const TEAM_LIMITED = "19:team-the-sender-may-reach@thread.tacv2";
const ROLES = JSON.stringify({
  "roles:Herald.Approver": { scopes: ["approve", "read"] },
  "roles:Herald.Author": { scopes: ["draft", "read"] },
  "groups:sender-group-id": { scopes: ["send", "read"], teams: [TEAM_LIMITED] },
});
const people = [
  { sub: "sub-ana", name: "Ana Approver", username: "ana@contoso.test", roles: ["Herald.Approver"] },
  { sub: "sub-ari", name: "Ari Author", username: "ari@contoso.test", roles: ["Herald.Author", "Unrelated.Role"] },
  { sub: "sub-nora", name: "Nora Nobody", username: "nora@contoso.test", roles: ["Unrelated.Role"] },
  { sub: "sub-tess", name: "Tess Sender", username: "tess@contoso.test", groups: ["sender-group-id"] },
];

let stack: Stack;
let browser: Browser;
let conversation: string;

beforeAll(async () => {
  ensureDashboardBuilt();
  stack = await startStack(await stores.open(), {
    emulator: { org: { tenants: 1, users: 3, teams: 1, blockedShare: 0, uninstalledShare: 0 } },
    env: (emulator) => ({
      HERALD_OIDC_ISSUER: `${emulator.url}/${emulator.org.tenants[0]!.id}/v2.0`,
      HERALD_OIDC_CLIENT_ID: CLIENT_ID,
      HERALD_OIDC_CLIENT_SECRET: CLIENT_SECRET,
      HERALD_OIDC_ROLES: ROLES,
    }),
  });
  expect(
    (await call("PUT", `${stack.emulator.url}/_emulator/oidc`, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, people })).status,
  ).toBe(204);
  await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
  conversation = await eventually("a personal chat", async () => {
    const items = (await call("GET", `${stack.heraldUrl}/v1/conversations?kind=personal`, undefined, STACK_API_KEY)).json["items"] as {
      id: string;
    }[];
    return items[0]?.id;
  });
  browser = await launchTestBrowser();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await stores.cleanup();
});

/** A fresh browser that goes through "Sign in with your organisation" as `name` on the emulator's page. */
async function signInAs(name: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  page.setDefaultTimeout(8_000);
  await page.goto(stack.heraldUrl);
  await page.getByRole("link", { name: "Sign in with your organisation" }).click();
  await page.getByRole("button", { name: `Sign in as ${name}` }).click();
  return page;
}

/** The page's own API call with its session cookie and CSRF token. */
async function fromPage(
  page: Page,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return page.evaluate(
    async ([m, p, b]) => {
      const me = (await (await fetch("/dashboard/session")).json()) as { csrf?: string };
      const headers: Record<string, string> = { "x-csrf-token": me.csrf ?? "" };
      if (b !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(p as string, { method: m as string, headers, body: b === undefined ? undefined : JSON.stringify(b) });
      const text = await res.text();
      return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    },
    [method, path, body] as const,
  );
}

const sessionStatus = (page: Page) => page.evaluate(async () => (await fetch("/dashboard/session")).status);

it("an author signed in with the organisation drafts but cannot approve; an approver approves, named in the audit log", async () => {
  const author = await signInAs("Ari Author");
  await author.getByRole("button", { name: "Sign out" }).waitFor();
  await author.getByText("Ari Author").first().waitFor();
  const draft = await fromPage(author, "POST", "/v1/drafts", {
    title: "Canteen menu",
    request: { audience: { conversations: [conversation] }, message: { text: "Soup of the day: tomato." } },
  });
  expect(draft.status).toBe(201);
  // Owned by the person's stable id (tenant + object id), not the username they could change.
  expect(draft.json["createdBy"]).toBe(`oidc:${stack.emulator.org.tenants[0]!.id}:sub-ari`);
  await author.getByRole("link", { name: "Drafts" }).click();
  await author.getByRole("heading", { name: "Canteen menu" }).waitFor();
  await author.getByRole("button", { name: "Submit for approval" }).click();
  await author.getByTestId("draft-status").getByText("submitted").waitFor();
  // The author's page offers no approval, and the API refuses one from their session.
  expect(await author.getByRole("button", { name: "Approve and send" }).count()).toBe(0);
  const refused = await fromPage(author, "POST", `/v1/drafts/${String(draft.json["id"])}/approve`);
  expect(refused.status).toBe(403);
  // Refused for lacking the scope (an author with it would meet the self-approval check instead).
  expect((refused.json["error"] as { code: string; message: string }).code).toBe("HERALD_E_FORBIDDEN");
  expect((refused.json["error"] as { code: string; message: string }).message).toContain('"approve"');
  expect(await author.locator(".who .scopes").textContent()).toBe("(draft, read)");

  const approver = await signInAs("Ana Approver");
  await approver.getByRole("link", { name: "Drafts" }).click();
  await approver.getByRole("heading", { name: "Canteen menu" }).waitFor();
  await approver.getByRole("button", { name: "Approve and send" }).click();
  await approver.getByRole("link", { name: /^n_/ }).waitFor();
  const audit = (await call("GET", `${stack.heraldUrl}/v1/audit`, undefined, STACK_API_KEY)).json["items"] as {
    actor: string;
    action: string;
    details: { person?: string };
  }[];
  const tid = stack.emulator.org.tenants[0]!.id;
  // The actor is the stable id; the person's sign-in name rides along in the details.
  const by = (who: string, username: string, action: string) =>
    audit.some((e) => e.actor === `oidc:${tid}:${who}` && e.details.person === username && e.action.includes(action));
  expect(by("sub-ana", "ana@contoso.test", "approve")).toBe(true);
  expect(by("sub-ari", "ari@contoso.test", "submit")).toBe(true);
  // Signing out ends the person's session: its API access ends with it.
  await approver.getByRole("button", { name: "Sign out" }).click();
  await approver.getByLabel("API key").waitFor();
  expect(await sessionStatus(approver)).toBe(401);
  expect((await fromPage(approver, "GET", "/v1/drafts")).status).toBe(401);
}, 60_000);

// Each refusal names its check, so a sign-in broken for another reason does not pass for this one.
for (const [fault, named, reason] of [
  ["badState", "a tampered state", /"state"/],
  ["badNonce", "a wrong nonce", /"nonce"/],
  ["expired", "an expired ID token", /"exp"/],
  ["forged", "an ID token signed with a key not in the issuer's JWKS", /signature verification failed/],
  ["wrongAudience", "an ID token for another client", /"aud"/],
] as const) {
  it(`${named} is refused and no session is made`, async () => {
    expect((await call("PUT", `${stack.emulator.url}/_emulator/oidc/fault`, { fault })).status).toBe(204);
    const page = await signInAs("Ana Approver");
    await page.getByRole("heading", { name: "Sign-in with your organisation failed" }).waitFor();
    expect(await page.getByRole("alert").textContent()).toMatch(reason);
    expect(await sessionStatus(page)).toBe(401);
    await page.context().close();
  });
}

it("a person whose group maps to a team limit is refused a tenant-wide broadcast and another team, from their session", async () => {
  const page = await signInAs("Tess Sender");
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  const all = await fromPage(page, "POST", "/v1/notifications", { audience: { all: true }, message: { text: "Everyone" } });
  expect(all.status).toBe(403);
  expect((all.json["error"] as { message: string }).message).toContain("audience.all");
  const other = await fromPage(page, "POST", "/v1/notifications", {
    audience: { teams: ["19:another-team@thread.tacv2"], deliverTo: "channel" },
    message: { text: "Another team" },
  });
  expect(other.status).toBe(403);
  expect((other.json["error"] as { message: string }).message).toContain('team "19:another-team@thread.tacv2"');
  const estimate = await fromPage(page, "POST", "/v1/audiences/estimate", { audience: { conversations: [conversation] } });
  expect(estimate.status).toBe(403);
  // Within the limit the same session is let through (a team Herald does not know yet: one failed row, not a refusal).
  const own = await fromPage(page, "POST", "/v1/notifications", {
    audience: { teams: [TEAM_LIMITED], deliverTo: "channel" },
    message: { text: "Team" },
  });
  expect(own.status).toBe(202);
});

it("a person whose roles map to nothing in HERALD_OIDC_ROLES is refused", async () => {
  const page = await signInAs("Nora Nobody");
  await page.getByRole("heading", { name: "Sign-in with your organisation failed" }).waitFor();
  expect(await page.getByRole("alert").textContent()).toContain("nora@contoso.test has no Herald role");
  expect(await sessionStatus(page)).toBe(401);
});

it("a callback not started in this browser is refused", async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${stack.heraldUrl}/dashboard/oidc/callback?code=made-up&state=made-up`);
  await page.getByRole("heading", { name: "Sign-in with your organisation failed" }).waitFor();
  expect(await sessionStatus(page)).toBe(401);
});
