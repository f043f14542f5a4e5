import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { connector, control, enc, start, token } from "./helpers.js";

let emu: EmulatorHandle;
let api: ReturnType<typeof connector>;
let tenantId: string;

beforeAll(async () => {
  emu = await start({ connectorPath: "/_connector", limits: false, org: { users: 1200, teams: 2, tenants: 1 } });
  api = connector(emu, await token(emu));
  tenantId = emu.org.tenants[0]!.id;
});
afterAll(() => emu.close());

const card = {
  contentType: "application/vnd.microsoft.card.adaptive",
  content: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "hi" }] },
};

async function personal(user: number): Promise<string> {
  const r = await api.post("v3/conversations", { isGroup: false, members: [{ id: emu.org.user(user).id }], tenantId });
  expect(r.status).toBe(201);
  return r.json.id;
}

describe("create conversation", () => {
  it("serves under the configured prefix and joins a serviceUrl with a trailing slash", async () => {
    expect(emu.connectorUrl).toMatch(/\/_connector\/$/);
    const r = await fetch(`${emu.url}/_connector//v3/conversations/${enc(await personal(1))}/activities`, {
      method: "POST",
      headers: { authorization: `Bearer ${await token(emu)}`, "content-type": "application/json" },
      body: JSON.stringify({ type: "message", text: "double slash" }),
    });
    expect(r.status).toBe(201);
    const unprefixed = await fetch(`${emu.url}/v3/conversations`, { method: "POST", body: "{}" });
    expect(unprefixed.status).toBe(404);
  });

  it("gives the same a: id for the same user, another for another user", async () => {
    const a = await personal(5);
    const b = await personal(5);
    const c = await personal(6);
    expect(a).toMatch(/^a:1[A-Za-z0-9_-]{22}$/);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
    expect(a).toBe(emu.org.personalConversationId(5));
  });

  it("reads the tenant from channelData.tenant.id and the bot from `agent` or `bot`", async () => {
    const r = await api.post("v3/conversations", {
      members: [{ id: emu.org.user(7).id }],
      channelData: { tenant: { id: tenantId } },
      agent: { id: `28:${emu.appId}` },
    });
    expect(r.status).toBe(201);
    expect(r.json.id).toBe(emu.org.personalConversationId(7));
  });

  it("requires a tenant id for a 1:1 chat", async () => {
    const r = await api.post("v3/conversations", { members: [{ id: emu.org.user(7).id }] });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("BadArgument");
  });

  it("accepts an Entra object id as member", async () => {
    const r = await api.post("v3/conversations", { members: [{ id: emu.org.user(8).aadObjectId }], tenantId });
    expect(r.status).toBe(201);
    expect(r.json.id).toBe(emu.org.personalConversationId(8));
  });

  it("refuses an unknown member", async () => {
    const r = await api.post("v3/conversations", { members: [{ id: "29:1nobody" }], tenantId });
    expect(r.status).toBe(400);
  });

  it("sends the activity of a 1:1 create and returns its id", async () => {
    const r = await api.post("v3/conversations", {
      members: [{ id: emu.org.user(9).id }],
      tenantId,
      activity: { type: "message", text: "welcome" },
    });
    expect(r.status).toBe(201);
    expect(r.json.activityId).toMatch(/^\d{13,}$/);
  });

  it("refuses group chats with 400 BadSyntax", async () => {
    const members = [{ id: emu.org.user(1).id }, { id: emu.org.user(2).id }];
    const r = await api.post("v3/conversations", { isGroup: true, members, tenantId });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("BadSyntax");
    const two = await api.post("v3/conversations", { isGroup: false, members, tenantId });
    expect(two.status).toBe(400);
    expect(two.json.error.code).toBe("BadSyntax");
  });

  it("starts a channel thread only with an activity, answering 19:...;messageid=N", async () => {
    const channel = emu.org.teams[0]!.channels[1]!;
    const without = await api.post("v3/conversations", { isGroup: true, channelData: { channel: { id: channel.id } } });
    expect(without.status).toBe(400);
    const r = await api.post("v3/conversations", {
      isGroup: true,
      channelData: { channel: { id: channel.id } },
      activity: { type: "message", text: "new thread" },
    });
    expect(r.status).toBe(201);
    expect(r.json.id).toBe(`${channel.id};messageid=${r.json.activityId}`);
    const reply = await api.post(`v3/conversations/${r.json.id}/activities`, { type: "message", text: "a reply" });
    expect(reply.status).toBe(201);
    const seen = await control(emu).get(`/conversations/${enc(r.json.id)}/messages`);
    expect(seen.json.messages.map((m: { activity: { text: string } }) => m.activity.text)).toEqual(["new thread", "a reply"]);
  });
});

describe("send, update, delete", () => {
  it("accepts raw and percent-encoded conversation ids, and /activities/{anyId}", async () => {
    const id = await personal(20);
    const raw = await api.post(`v3/conversations/${id}/activities`, { type: "message", text: "raw" });
    const encoded = await api.post(`v3/conversations/${enc(id)}/activities`, { type: "message", text: "encoded" });
    const anyId = await api.post(`v3/conversations/${enc(id)}/activities/6f1c3a4e-0000-4000-8000-000000000000`, {
      type: "message",
      text: "any",
    });
    const self = await api.post(`v3/conversations/${enc(id)}/activities/${enc(id)}`, { type: "message", text: "self" });
    for (const r of [raw, encoded, anyId, self]) {
      expect(r.status).toBe(201);
      expect(r.json.id).toMatch(/^\d{13,}$/);
    }
    const seen = await control(emu).get(`/conversations/${enc(id)}/messages`);
    expect(seen.json.messages.map((m: { activity: { text: string } }) => m.activity.text)).toEqual(["raw", "encoded", "any", "self"]);
  });

  it("splits text + attachment into two messages and returns no id", async () => {
    const id = await personal(21);
    const r = await api.post(`v3/conversations/${id}/activities`, { type: "message", text: "look", attachments: [card] });
    expect(r.status).toBe(201);
    expect(r.json.id).toBeUndefined();
    const seen = await control(emu).get(`/conversations/${enc(id)}/messages`);
    expect(seen.json.messages).toHaveLength(2);
    expect(seen.json.messages[0].activity.text).toBe("look");
    expect(seen.json.messages[0].activity.attachments).toBeUndefined();
    expect(seen.json.messages[1].activity.attachments).toHaveLength(1);
    expect(seen.json.messages[1].split).toBe(true);
  });

  it("refuses a payload over the size limit with 413 MessageSizeTooBig", async () => {
    const id = await personal(22);
    const r = await api.post(`v3/conversations/${id}/activities`, { type: "message", text: "x".repeat(30_000) });
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe("MessageSizeTooBig");
    const small = await api.post(`v3/conversations/${id}/activities`, { type: "message", text: "x".repeat(20_000) });
    expect(small.status).toBe(201);
  });

  it("answers 404 ConversationNotFound for unknown conversations", async () => {
    const r = await api.post("v3/conversations/a:1doesnotexist/activities", { type: "message", text: "?" });
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe("ConversationNotFound");
  });

  it("updates and deletes change what the user sees, with history", async () => {
    const id = await personal(23);
    const sent = await api.post(`v3/conversations/${id}/activities`, { type: "message", text: "v1" });
    const upd = await api.put(`v3/conversations/${enc(id)}/activities/${sent.json.id}`, { type: "message", text: "v2" });
    expect(upd.status).toBe(200);
    expect(upd.json.id).toBe(sent.json.id);
    let seen = await control(emu).get(`/conversations/${enc(id)}/messages`);
    expect(seen.json.messages[0].activity.text).toBe("v2");
    expect(seen.json.messages[0].history.map((h: { kind: string; previous: { text: string } }) => [h.kind, h.previous.text])).toEqual([
      ["update", "v1"],
    ]);
    const del = await api.del(`v3/conversations/${enc(id)}/activities/${sent.json.id}`);
    expect(del.status).toBe(200);
    seen = await control(emu).get(`/conversations/${enc(id)}/messages`);
    expect(seen.json.messages[0].deletedAt).toBeTruthy();
    expect(seen.json.messages[0].activity).toBeNull();
    expect(seen.json.counts).toEqual({ received: 1, updated: 1, deleted: 1 });
    const again = await api.put(`v3/conversations/${enc(id)}/activities/${sent.json.id}`, { type: "message", text: "v3" });
    expect(again.status).toBe(404);
    const unknown = await api.put(`v3/conversations/${enc(id)}/activities/12345`, { type: "message", text: "?" });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe("ActivityNotFoundInConversation");
  });
});

describe("members and teams", () => {
  it("pages members with the page size clamped to 50..500 and real continuation tokens", async () => {
    const team = emu.org.teams[0]!;
    expect(team.memberCount).toBe(1200);
    const small = await api.get(`v3/conversations/${enc(team.id)}/pagedmembers?pageSize=10`);
    expect(small.status).toBe(200);
    expect(small.json.members).toHaveLength(50);
    const seen = new Set<string>();
    let tokenParam = "";
    let pages = 0;
    for (;;) {
      const r = await api.get(`v3/conversations/${enc(team.id)}/pagedMembers?pageSize=1000${tokenParam}`);
      expect(r.status).toBe(200);
      expect(r.json.members.length).toBeLessThanOrEqual(500);
      for (const m of r.json.members) seen.add(m.id);
      pages++;
      if (!r.json.continuationToken) break;
      tokenParam = `&continuationToken=${enc(r.json.continuationToken)}`;
    }
    expect(pages).toBe(3);
    expect(seen.size).toBe(1200);
    const member = small.json.members[0];
    expect(Object.keys(member).sort()).toEqual(["aadObjectId", "givenName", "id", "name", "objectId", "surname", "tenantId", "userRole"]);
    const bad = await api.get(`v3/conversations/${enc(team.id)}/pagedmembers?continuationToken=bogus`);
    expect(bad.status).toBe(400);
  });

  it("pages a 1:1 chat's single member and reads one member", async () => {
    const id = await personal(30);
    const r = await api.get(`v3/conversations/${id}/pagedmembers`);
    expect(r.json.members.map((m: { id: string }) => m.id)).toEqual([emu.org.user(30).id]);
    expect(r.json.continuationToken).toBeUndefined();
    const one = await api.get(`v3/conversations/${id}/members/${emu.org.user(30).aadObjectId}`);
    expect(one.status).toBe(200);
    expect(one.json.id).toBe(emu.org.user(30).id);
    const other = await api.get(`v3/conversations/${id}/members/${emu.org.user(31).id}`);
    expect(other.status).toBe(404);
  });

  it("returns team details and channels (General named null, id = team id)", async () => {
    const team = emu.org.teams[1]!;
    const details = await api.get(`v3/teams/${enc(team.id)}`);
    expect(details.json).toMatchObject({ id: team.id, name: team.name, aadGroupId: team.aadGroupId });
    const channels = await api.get(`v3/teams/${team.id}/conversations`);
    expect(channels.json.conversations[0]).toEqual({ id: team.id, name: null });
    expect(channels.json.conversations).toHaveLength(team.channels.length);
    expect(channels.json.conversations[1].id).toMatch(/^19:[0-9a-f]{32}@thread\.tacv2$/);
  });
});
