import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Team and group guardrails of API keys (issue 12): a key limited to a team reaches that team
 * (its channels), and is refused, with a 403 naming the entry, every audience outside it: a
 * tenant-wide broadcast, another team, another team's channel, a personal chat, a list of
 * people, a group; the same in the estimate, a draft, a draft's approval and a series.
 */

const ADMIN = "admin-key-for-audience-tests-0123456789";
const A = "tenant-a";
const T1 = "19:team-one@thread.tacv2";
const T2 = "19:team-two@thread.tacv2";
const C2 = "19:channel-of-two@thread.tacv2";
const G1 = "0a0a0a0a-1111-4222-8333-444455556666";

type Body = Record<string, unknown>;

forEachStore((stores) => {
  let herald: Herald;
  let teamKey = "";
  let authorKey = "";
  let approverKey = "";

  async function call(method: string, path: string, key: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await herald.fetch(
      new Request(`http://herald.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
    const text = await res.text();
    const json = res.headers.get("content-type")?.includes("json") && text ? (JSON.parse(text) as Body) : {};
    return { status: res.status, body: json, message: String((json["error"] as Body | undefined)?.["message"] ?? "") };
  }

  beforeAll(async () => {
    const config = loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_API_KEY: ADMIN });
    // No dispatching: the guardrails decide before anything is sent.
    herald = await createHerald(config, { logger: silentLogger, store: await stores.open(), engine: false });
    const at = new Date().toISOString();
    for (const [team, channel] of [
      [T1, T1],
      [T2, T2],
      [T2, C2],
    ] as const)
      await herald.store.conversations.upsert({
        id: channel,
        kind: "channel",
        tenantId: A,
        serviceUrl: "http://127.0.0.1:9/teams/",
        channelId: "msteams",
        bot: { id: "28:bot" },
        team: { id: team, name: `Team ${team}` },
        channel: { id: channel, name: "A channel" },
        at,
        status: "active",
      });
    await herald.store.conversations.upsert({
      id: "a:personal-1",
      kind: "personal",
      tenantId: A,
      serviceUrl: "http://127.0.0.1:9/teams/",
      channelId: "msteams",
      bot: { id: "28:bot" },
      user: { id: "29:user-1", name: "User 1" },
      at,
      status: "active",
    });
    const key = async (body: Body) => {
      const r = await call("POST", "/v1/keys", ADMIN, body);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body;
    };
    const made = await key({ name: "team-one", scopes: ["send", "read"], tenants: [A], teams: [T1] });
    expect(made["teams"]).toEqual([T1]);
    teamKey = made["key"] as string;
    authorKey = (await key({ name: "author", scopes: ["draft", "read"], tenants: [A], teams: [T1] }))["key"] as string;
    approverKey = (await key({ name: "approver", scopes: ["approve", "read"], teams: [T1] }))["key"] as string;
  });
  afterAll(async () => {
    await herald?.close();
  });

  const send = (audience: Body) => call("POST", "/v1/notifications", teamKey, { audience, message: { text: "Hello" } });

  it("a key limited to a team is refused a tenant-wide broadcast, another team, its channel, a chat, people and a group", async () => {
    const all = await send({ all: true, tenantId: A });
    expect(all.status).toBe(403);
    expect(all.message).toContain("audience.all");
    const other = await send({ teams: [T1, T2], deliverTo: "channel" });
    expect(other.status).toBe(403);
    expect(other.message).toContain(`team "${T2}"`);
    const channel = await send({ channels: [C2] });
    expect(channel.status).toBe(403);
    expect(channel.message).toContain(`"${C2}" belongs to team "${T2}"`);
    const chat = await send({ conversations: ["a:personal-1"] });
    expect(chat.status).toBe(403);
    expect(chat.message).toContain('"a:personal-1"');
    const users = await send({ users: ["29:user-1"], tenantId: A });
    expect(users.status).toBe(403);
    expect(users.message).toContain("audience.users");
    const group = await send({ groups: [G1], tenantId: A });
    expect(group.status).toBe(403);
    expect(group.message).toContain(`group "${G1}"`);
    // Nothing was stored for any of them.
    expect(((await call("GET", "/v1/notifications", ADMIN)).body["items"] as unknown[]).length).toBe(0);
  });

  it("a key limited to a team may send to its own team and that team's channel", async () => {
    expect((await send({ teams: [T1], deliverTo: "channel" })).status).toBe(202);
    expect((await send({ channels: [T1] })).status).toBe(202);
  });

  it("the estimate refuses the same audiences", async () => {
    const all = await call("POST", "/v1/audiences/estimate", teamKey, { audience: { all: true, tenantId: A } });
    expect(all.status).toBe(403);
    expect(all.message).toContain("audience.all");
    const other = await call("POST", "/v1/audiences/estimate", teamKey, { audience: { teams: [T2], deliverTo: "members" } });
    expect(other.status).toBe(403);
    expect((await call("POST", "/v1/audiences/estimate", teamKey, { audience: { teams: [T1], deliverTo: "channel" } })).status).toBe(200);
  });

  it("a draft outside the author's team is refused when saved; one within it is submitted and approved", async () => {
    const wide = await call("POST", "/v1/drafts", authorKey, {
      title: "Everyone",
      request: { audience: { all: true, tenantId: A }, message: { text: "Hi all" } },
    });
    expect(wide.status).toBe(403);
    expect(wide.message).toContain("audience.all");
    const otherTeam = await call("POST", "/v1/drafts", authorKey, {
      title: "Team two",
      request: { audience: { teams: [T2], deliverTo: "channel" }, message: { text: "Hi two" } },
    });
    expect(otherTeam.status).toBe(403);
    expect(otherTeam.message).toContain(`team "${T2}"`);
    const mine = await call("POST", "/v1/drafts", authorKey, {
      title: "Team one",
      request: { audience: { teams: [T1], deliverTo: "channel" }, message: { text: "Hi one" } },
    });
    expect(mine.status).toBe(201);
    const id = mine.body["id"] as string;
    expect((await call("POST", `/v1/drafts/${id}/submit`, authorKey)).status).toBe(200);
    const approved = await call("POST", `/v1/drafts/${id}/approve`, approverKey);
    expect(approved.status, approved.message).toBe(202);
  });

  it("an approver limited to a team may not approve a draft to another team", async () => {
    // An author with no team limit drafts to team two; the team-one approver cannot send it.
    const wideAuthor = (await call("POST", "/v1/keys", ADMIN, { name: "wide-author", scopes: ["draft"] })).body["key"] as string;
    const d = await call("POST", "/v1/drafts", wideAuthor, {
      title: "Team two",
      request: { audience: { teams: [T2], deliverTo: "channel" }, message: { text: "Hi two" } },
    });
    expect(d.status).toBe(201);
    const id = d.body["id"] as string;
    expect((await call("POST", `/v1/drafts/${id}/submit`, wideAuthor)).status).toBe(200);
    const refused = await call("POST", `/v1/drafts/${id}/approve`, approverKey);
    expect(refused.status).toBe(403);
    expect(refused.message).toContain(`team "${T2}"`);
    expect((await call("GET", `/v1/drafts/${id}`, ADMIN)).body["status"]).toBe("submitted");
  });

  it("a recurring series outside the team is refused, and a key may not grant a team outside its own", async () => {
    const series = await call("POST", "/v1/notifications", teamKey, {
      audience: { all: true, tenantId: A },
      message: { text: "Weekly" },
      schedule: { cron: "0 9 * * 1", timeZone: "UTC" },
    });
    expect(series.status).toBe(403);
    expect(series.message).toContain("audience.all");
    const admin = (await call("POST", "/v1/keys", ADMIN, { name: "team-admin", scopes: ["admin"], teams: [T1] })).body["key"] as string;
    const wider = await call("POST", "/v1/keys", admin, { name: "wider", scopes: ["send"], teams: [T2] });
    expect(wider.status).toBe(403);
    expect(wider.message).toContain(`team "${T2}"`);
    const inherited = await call("POST", "/v1/keys", admin, { name: "inherits", scopes: ["send"] });
    expect(inherited.status).toBe(201);
    expect(inherited.body["teams"]).toEqual([T1]);
  });
});
