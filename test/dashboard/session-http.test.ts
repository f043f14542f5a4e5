import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";
import { ensureDashboardBuilt } from "./build.js";

const stores = createStoreFactory("sqlite");
let stack: Stack;
let url: string;

beforeAll(async () => {
  ensureDashboardBuilt();
  stack = await startStack(await stores.open(), {
    emulator: { org: { tenants: 1, users: 6, teams: 1, blockedShare: 0, uninstalledShare: 0 } },
  });
  url = stack.heraldUrl;
  await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
  await eventually("6 personal chats stored", async () => {
    const r = await call("GET", `${url}/v1/conversations?kind=personal`, undefined, STACK_API_KEY);
    return (r.json["items"] as unknown[]).length === 6 ? true : undefined;
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await stores.cleanup();
});

async function signIn(apiKey: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/dashboard/session`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ apiKey }),
  });
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  return { res, cookie, setCookie: res.headers.get("set-cookie") ?? "", body: (await res.json()) as Record<string, unknown> };
}

const withCookie = (cookie: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}${path}`, {
    method,
    headers: { cookie, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const someone = async () =>
  ((await call("GET", `${url}/v1/conversations?kind=personal`, undefined, STACK_API_KEY)).json["items"] as { user: { id: string } }[])[0]!
    .user.id;

describe("the dashboard's page", () => {
  it("is served at / with a strict CSP and no caching; its bundle is cached for good under its content hash", async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    const src = /src="(\/dashboard\/assets\/app\.js\?v=[0-9a-f]+)"/.exec(html)?.[1];
    expect(src).toBeDefined();
    const js = await fetch(`${url}${src}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toContain("immutable");
    expect((await fetch(`${url}/dashboard/assets/app.js?v=old`)).headers.get("cache-control")).toBe("no-cache");
  });
});

describe("sign-in with an API key", () => {
  it("refuses an unknown key, and gives a valid one an HttpOnly SameSite=Strict cookie (Secure behind https)", async () => {
    expect((await signIn("not-a-key")).res.status).toBe(401);
    const ok = await signIn(STACK_API_KEY);
    expect(ok.res.status).toBe(200);
    expect(ok.setCookie).toMatch(/HttpOnly/);
    expect(ok.setCookie).toMatch(/SameSite=Strict/);
    expect(ok.setCookie).not.toMatch(/Secure/);
    expect(JSON.stringify(ok.body)).not.toContain(STACK_API_KEY);
    const proxied = await signIn(STACK_API_KEY, { "x-forwarded-proto": "https" });
    expect(proxied.setCookie).toMatch(/; Secure/);
  });

  it("refuses a state-changing API call made with the cookie but without the CSRF token, or from another origin", async () => {
    const { cookie, body } = await signIn(STACK_API_KEY);
    const request = { audience: { users: [await someone()] }, message: { text: "csrf check" } };
    const none = await withCookie(cookie, "POST", "/v1/notifications", request);
    expect(none.status).toBe(403);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("HERALD_E_CSRF");
    expect((await withCookie(cookie, "POST", "/v1/notifications", request, { "x-csrf-token": "wrong" })).status).toBe(403);
    const foreign = await withCookie(cookie, "POST", "/v1/notifications", request, {
      "x-csrf-token": String(body["csrf"]),
      origin: "https://evil.example",
    });
    expect(foreign.status).toBe(403);
    // Reads need no token; the right token lets the write through.
    expect((await withCookie(cookie, "GET", "/v1/notifications")).status).toBe(200);
    const sent = await withCookie(cookie, "POST", "/v1/notifications", request, { "x-csrf-token": String(body["csrf"]) });
    expect(sent.status).toBe(202);
  });

  it("behind an https proxy, the browser's own https Origin signs in and writes; another origin is still refused", async () => {
    const host = new URL(url).host;
    const proxy = { "x-forwarded-proto": "https", origin: `https://${host}` };
    const { res, cookie, body } = await signIn(STACK_API_KEY, proxy);
    expect(res.status).toBe(200);
    const request = { audience: { users: [await someone()] }, message: { text: "behind a proxy" } };
    const sent = await withCookie(cookie, "POST", "/v1/notifications", request, { ...proxy, "x-csrf-token": String(body["csrf"]) });
    expect(sent.status).toBe(202);
    const foreign = await withCookie(cookie, "POST", "/v1/notifications", request, {
      "x-forwarded-proto": "https",
      origin: "https://evil.example",
      "x-csrf-token": String(body["csrf"]),
    });
    expect(foreign.status).toBe(403);
    expect((await signIn(STACK_API_KEY, { "x-forwarded-proto": "https", origin: "https://evil.example" })).res.status).toBe(403);
  });

  it("carries exactly the key's scopes, and ends when the key is revoked", async () => {
    const created = await call("POST", `${url}/v1/keys`, { name: "reader", scopes: ["read"] }, STACK_API_KEY);
    const { cookie, body } = await signIn(String(created.json["key"]));
    expect(body["scopes"]).toEqual(["read"]);
    expect((await withCookie(cookie, "GET", "/v1/notifications")).status).toBe(200);
    const write = await withCookie(
      cookie,
      "POST",
      "/v1/notifications",
      { audience: { users: [await someone()] }, message: { text: "not allowed" } },
      { "x-csrf-token": String(body["csrf"]) },
    );
    expect(write.status).toBe(403);
    expect((await withCookie(cookie, "GET", "/v1/audit")).status).toBe(403);
    await call("DELETE", `${url}/v1/keys/${created.json["id"]}`, undefined, STACK_API_KEY);
    expect((await withCookie(cookie, "GET", "/v1/notifications")).status).toBe(401);
    expect((await withCookie(cookie, "GET", "/dashboard/session")).status).toBe(401);
  });

  it("signs out only with the CSRF token, and the cookie is dead afterwards", async () => {
    const { cookie, body } = await signIn(STACK_API_KEY);
    expect((await withCookie(cookie, "DELETE", "/dashboard/session")).status).toBe(403);
    expect((await withCookie(cookie, "GET", "/dashboard/session")).status).toBe(200);
    expect((await withCookie(cookie, "DELETE", "/dashboard/session", undefined, { "x-csrf-token": String(body["csrf"]) })).status).toBe(
      204,
    );
    expect((await withCookie(cookie, "GET", "/dashboard/session")).status).toBe(401);
    expect((await withCookie(cookie, "GET", "/v1/notifications")).status).toBe(401);
  });

  it("a one-time sign-in link works once", async () => {
    const token = stack.herald.dashboard.oneTimeToken(STACK_API_KEY);
    const first = await fetch(`${url}/dashboard/sign-in?token=${token}`, { redirect: "manual" });
    expect(first.status).toBe(303);
    expect(first.headers.get("location")).toBe("/");
    expect(first.headers.get("referrer-policy")).toBe("no-referrer");
    const cookie = (first.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    expect((await withCookie(cookie, "GET", "/dashboard/session")).status).toBe(200);
    const again = await fetch(`${url}/dashboard/sign-in?token=${token}`, { redirect: "manual" });
    expect(again.status).toBe(401);
    expect(again.headers.get("set-cookie")).toBeNull();
  });
});

describe("POST /v1/audiences/estimate", () => {
  it("counts the recipients a send would try, from the same resolution, without writing anything", async () => {
    const before = (await call("GET", `${url}/v1/notifications`, undefined, STACK_API_KEY)).json["items"] as unknown[];
    const users = await call(
      "POST",
      `${url}/v1/audiences/estimate`,
      { audience: { users: [await someone(), "29:nobody"] } },
      STACK_API_KEY,
    );
    expect(users.status).toBe(200);
    expect(users.json).toMatchObject({ recipients: 1, skipped: 1, exact: true });
    const all = await call("POST", `${url}/v1/audiences/estimate`, { audience: { all: true } }, STACK_API_KEY);
    expect(all.json).toMatchObject({ recipients: 6, exact: true });
    const bad = await call("POST", `${url}/v1/audiences/estimate`, { audience: {} }, STACK_API_KEY);
    expect(bad.status).toBe(400);
    const after = (await call("GET", `${url}/v1/notifications`, undefined, STACK_API_KEY)).json["items"] as unknown[];
    expect(after.length).toBe(before.length);
    const audit = (await call("GET", `${url}/v1/audit`, undefined, STACK_API_KEY)).json["items"] as { action: string }[];
    expect(audit.some((a) => a.action.includes("estimate"))).toBe(false);
  });
});
