import { afterAll, beforeAll, expect, it } from "vitest";
import { DashboardSessions } from "../../src/server/dashboard-sessions.js";
import { call, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * rev3 review: the OIDC callback over plain HTTP (no browser), with a real code and state: the
 * callback is bound to the browser that started it and works once; and a person whose roles
 * combine an org-wide `read` with a team-limited `send` does not send org-wide.
 */

const stores = createStoreFactory("sqlite");
const CLIENT_ID = "rev3-client";
const CLIENT_SECRET = "rev3-client-secret";
const TEAM = "19:rev3-team@thread.tacv2";
const ROLES = JSON.stringify({
  "roles:Herald.Reader": { scopes: ["read"] },
  "groups:sender-group": { scopes: ["send"], teams: [TEAM] },
});
const people = [{ sub: "sub-rex", name: "Rex", username: "rex@contoso.test", roles: ["Herald.Reader"], groups: ["sender-group"] }];
let stack: Stack;

beforeAll(async () => {
  stack = await startStack(await stores.open(), {
    emulator: { org: { tenants: 1, users: 2, teams: 1, blockedShare: 0, uninstalledShare: 0 } },
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
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await stores.cleanup();
});

const cookie = (res: Response, name: string): string | undefined =>
  res.headers
    .getSetCookie()
    .map((c) => c.split(";")[0] ?? "")
    .find((c) => c.startsWith(`${name}=`) && c.length > name.length + 1);

/** Start a sign-in: the pending cookie and the callback URL the issuer sends the browser to. */
async function start(): Promise<{ pending: string; callback: string }> {
  const res = await fetch(`${stack.heraldUrl}/dashboard/oidc/start`, { redirect: "manual" });
  expect(res.status).toBe(302);
  const pending = cookie(res, "herald_oidc") ?? "";
  const authorize = new URL(res.headers.get("location") ?? "");
  authorize.searchParams.set("login_hint", "rex@contoso.test");
  const back = await fetch(authorize, { redirect: "manual" });
  expect(back.status).toBe(302);
  return { pending, callback: back.headers.get("location") ?? "" };
}
const get = (url: string, cookieHeader?: string) =>
  fetch(url, { redirect: "manual", headers: cookieHeader ? { cookie: cookieHeader } : {} });

it("a real callback URL is refused in another browser, with another browser's pending sign-in, and when replayed", async () => {
  const victim = await start();
  expect((await get(victim.callback)).status).toBe(400);
  const attacker = await start();
  // The attacker's genuine code and state, in the victim's browser (login CSRF): refused, no session.
  const csrf = await get(attacker.callback, victim.pending);
  expect(csrf.status).toBe(401);
  expect(cookie(csrf, "herald_session")).toBeUndefined();
  const mine = await start();
  const ok = await get(mine.callback, mine.pending);
  expect(ok.status).toBe(303);
  expect(cookie(ok, "herald_session")).toBeDefined();
  expect((await get(mine.callback, mine.pending)).status).toBe(400);
});

it("org-wide read plus team-limited send does not make an org-wide sender", async () => {
  const s = await start();
  const session = cookie(await get(s.callback, s.pending), "herald_session") ?? "";
  const me = (await (await get(`${stack.heraldUrl}/dashboard/session`, session)).json()) as { csrf: string };
  const res = await fetch(`${stack.heraldUrl}/v1/notifications`, {
    method: "POST",
    headers: { cookie: session, "x-csrf-token": me.csrf, "content-type": "application/json" },
    body: JSON.stringify({ audience: { all: true }, message: { text: "Everyone" } }),
  });
  expect(res.status).toBe(403);
});

it("a person is their tenant and object id, not their changeable username (nOAuth)", async () => {
  const signIn = async () => {
    const s = await start();
    const session = cookie(await get(s.callback, s.pending), "herald_session") ?? "";
    return (await (await get(`${stack.heraldUrl}/dashboard/session`, session)).json()) as {
      keyId: string;
      person: { username?: string };
    };
  };
  const tid = stack.emulator.org.tenants[0]!.id;
  const rex = await signIn();
  expect(rex.keyId).toBe(`oidc:${tid}:sub-rex`);
  expect(rex.person.username).toBe("rex@contoso.test");
  // Another person of the tenant takes Rex's old username: they are not Rex to Herald.
  const mallory = [{ ...people[0]!, sub: "sub-mallory", name: "Mallory" }];
  const register = (list: typeof people) =>
    call("PUT", `${stack.emulator.url}/_emulator/oidc`, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, people: list });
  expect((await register(mallory)).status).toBe(204);
  try {
    const other = await signIn();
    expect(other.person.username).toBe("rex@contoso.test");
    expect(other.keyId).toBe(`oidc:${tid}:sub-mallory`);
  } finally {
    expect((await register(people)).status).toBe(204);
  }
});

it("sign-out revokes the person's internal bearer token", () => {
  const sessions = new DashboardSessions({ now: () => 0 } as never);
  const s = sessions.createForPerson({ keyId: "oidc:x", scopes: ["read"] });
  expect(sessions.personOf(s.apiKey)?.keyId).toBe("oidc:x");
  sessions.destroy(s.id);
  expect(sessions.personOf(s.apiKey)).toBeUndefined();
});
