import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * `POST /v1/installations` and team/group guardrails: a team/group-limited admin may not install
 * (and so welcome) tenant-wide, for a list of people, in group chats or in teams outside its
 * limit: 403 naming the entry. Within its limit the request passes the guardrail (then 503 here:
 * this Herald has no Graph).
 */

const ADMIN = "admin-key-for-install-reach-tests-0123456789";
const A = "tenant-a";
const T1 = "19:team-one@thread.tacv2";
const G1 = "11111111-1111-1111-1111-111111111111";
type Body = Record<string, unknown>;

forEachStore((stores) => {
  let herald: Herald;
  let teamAdmin = "";
  let groupAdmin = "";
  async function call(method: string, path: string, key: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await herald.fetch(
      new Request(`http://herald.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
    const text = await res.text();
    const json = res.headers.get("content-type")?.includes("json") && text ? (JSON.parse(text) as Body) : {};
    return { status: res.status, body: json };
  }
  const code = (r: { body: Body }) => (r.body["error"] as Body | undefined)?.["code"];
  const message = (r: { body: Body }) => String((r.body["error"] as Body | undefined)?.["message"]);
  beforeAll(async () => {
    const config = loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_API_KEY: ADMIN });
    herald = await createHerald(config, { logger: silentLogger, store: await stores.open(), engine: false });
    teamAdmin = (await call("POST", "/v1/keys", ADMIN, { name: "team-admin", scopes: ["admin"], teams: [T1] })).body["key"] as string;
    groupAdmin = (await call("POST", "/v1/keys", ADMIN, { name: "group-admin", scopes: ["admin"], groups: [G1] })).body["key"] as string;
  });
  afterAll(async () => {
    await herald?.close();
  });

  it("a team-limited admin may not install tenant-wide, for people, in chats or in other teams", async () => {
    const all = await call("POST", "/v1/installations", teamAdmin, { all: true, tenantId: A });
    expect(all.status).toBe(403);
    expect(code(all)).toBe("HERALD_E_FORBIDDEN");
    expect(message(all)).toContain("all");
    const users = await call("POST", "/v1/installations", teamAdmin, { users: ["ceo@contoso.test"], tenantId: A });
    expect(users.status).toBe(403);
    expect(message(users)).toContain("users");
    expect((await call("POST", "/v1/installations", teamAdmin, { chats: ["19:chat@thread.v2"], tenantId: A })).status).toBe(403);
    const other = await call("POST", "/v1/installations", groupAdmin, { teams: [G1, "22222222-2222-2222-2222-222222222222"], tenantId: A });
    expect(other.status).toBe(403);
    expect(message(other)).toContain("22222222-2222-2222-2222-222222222222");
    const group = await call("POST", "/v1/installations", groupAdmin, { groups: ["33333333-3333-3333-3333-333333333333"], tenantId: A });
    expect(group.status).toBe(403);
    expect(message(group)).toContain("33333333");
  });

  it("within its limit (and for an unlimited admin) the request passes the guardrail", async () => {
    // No Graph here: past the guardrail the route answers 503.
    expect((await call("POST", "/v1/installations", groupAdmin, { teams: [G1], tenantId: A })).status).toBe(503);
    expect((await call("POST", "/v1/installations", groupAdmin, { groups: [G1], tenantId: A })).status).toBe(503);
    expect((await call("POST", "/v1/installations", ADMIN, { all: true, tenantId: A })).status).toBe(503);
  });
});
