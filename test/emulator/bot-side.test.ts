import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { connector, control, enc, eventually, http, start, token } from "./helpers.js";

interface Received {
  auth: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: activities are read loosely in tests
  activity: any;
}

let emu: EmulatorHandle;
let bot: Server;
let botUrl: string;
const received: Received[] = [];
const refreshedCard = { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "Thanks, voted!" }] };

beforeAll(async () => {
  bot = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const activity = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      received.push({ auth: req.headers.authorization, activity });
      if (activity.type === "invoke") {
        const body = JSON.stringify({ statusCode: 200, type: "application/vnd.microsoft.card.adaptive", value: refreshedCard });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(body);
        return;
      }
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise<void>((r) => bot.listen(0, "127.0.0.1", () => r()));
  botUrl = `http://127.0.0.1:${(bot.address() as AddressInfo).port}/api/messages`;
  emu = await start({
    connectorPath: "/_connector",
    botEndpoint: botUrl,
    appId: "11111111-2222-4333-8444-555555555555",
    botName: "Herald",
    org: { users: 2500, teams: 2, chats: 2 },
  });
});
afterAll(async () => {
  await emu.close();
  await new Promise((r) => bot.close(r));
});

function take(filter: (r: Received) => boolean): Received[] {
  return received.filter(filter);
}

describe("installs", () => {
  it("sends the installationUpdate + conversationUpdate pair of a personal install, signed as the Connector signs", async () => {
    const user = emu.org.user(3);
    const job = await control(emu).post("/install", { users: [user.id], wait: true });
    expect(job.status).toBe(200);
    expect(job.json).toMatchObject({ state: "completed", total: 1, ok: 1, failed: 0 });
    const mine = take((r) => r.activity.from?.id === user.id);
    expect(mine.map((r) => r.activity.type)).toEqual(["installationUpdate", "conversationUpdate"]);
    const [install, update] = mine.map((r) => r.activity);
    const conversation = { conversationType: "personal", tenantId: user.tenantId, id: emu.org.personalConversationId(3) };
    expect(install).toMatchObject({
      action: "add",
      channelId: "msteams",
      serviceUrl: emu.connectorUrl,
      from: { id: user.id, aadObjectId: user.aadObjectId },
      recipient: { id: "28:11111111-2222-4333-8444-555555555555", name: "Herald" },
      conversation,
      channelData: { tenant: { id: user.tenantId } },
      localTimezone: user.timezone,
      locale: user.locale,
    });
    expect(install.entities).toEqual([
      { type: "clientInfo", locale: user.locale, country: user.country, platform: "Web", timezone: user.timezone },
    ]);
    expect(install.localTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}([+-]\d\d:\d\d)$/);
    expect(update.conversation).toEqual(conversation);
    expect(update.membersAdded.map((m: { id: string }) => m.id)).toEqual([user.id, "28:11111111-2222-4333-8444-555555555555"]);

    // The token verifies against the JWKS the emulator publishes (OpenID metadata → jwks_uri).
    const metadata = (await http("GET", emu.openIdMetadataUrl)).json;
    expect(metadata.issuer).toBe("https://api.botframework.com");
    const jwks = (await http("GET", metadata.jwks_uri)).json;
    expect(jwks.keys[0].endorsements).toEqual(["msteams"]);
    const bearer = mine[0]!.auth!.slice("Bearer ".length);
    expect(decodeProtectedHeader(bearer)).toMatchObject({ alg: "RS256", kid: jwks.keys[0].kid });
    const { payload } = await jwtVerify(bearer, createRemoteJWKSet(new URL(metadata.jwks_uri)), {
      issuer: "https://api.botframework.com",
      audience: "11111111-2222-4333-8444-555555555555",
    });
    expect(payload["serviceurl"]).toBe(emu.connectorUrl);
  });

  it("sends the team pair with team, channel, selected channel and the bot in membersAdded", async () => {
    const team = emu.org.teams[1]!;
    const channel = team.channels[1]!;
    await control(emu).post("/install", { teamId: team.id, channelId: channel.id, wait: true });
    const pair = take((r) => r.activity.channelData?.team?.id === team.id).map((r) => r.activity);
    expect(pair.map((a) => a.type)).toEqual(["installationUpdate", "conversationUpdate"]);
    expect(pair[0]).toMatchObject({
      action: "add",
      conversation: { isGroup: true, conversationType: "channel", id: channel.id },
      channelData: {
        settings: { selectedChannel: { id: channel.id } },
        team: { id: team.id, name: team.name, aadGroupId: team.aadGroupId },
        tenant: { id: emu.org.tenants[0]!.id },
      },
    });
    expect(pair[1].membersAdded).toEqual([{ id: `28:${emu.appId}` }]);
    expect(pair[1].channelData.eventType).toBe("teamMemberAdded");
    expect(emu.org.isTeamMember(team.index, emu.org.userIndexOf(pair[0].from.id))).toBe(true);
  });

  it("adds a person to a team and removes them: the roster changes, the bot gets teamMemberAdded/Removed signed, once per change", async () => {
    const team = emu.org.teams[1]!;
    const tenant = emu.org.tenants[team.tenantIndex]!;
    let index = tenant.userStart;
    while (emu.org.isTeamMember(team.index, index)) index++;
    const user = emu.org.user(index);
    const bearer = await token(emu);
    const roster = async () => {
      const r = await connector(emu, bearer).get(`v3/conversations/${enc(team.id)}/pagedmembers?pageSize=500`);
      return (r.json.members as { id: string }[]).map((m) => m.id);
    };
    const before = await roster();
    expect(before).not.toContain(user.id);
    const seen = (eventType: string) =>
      take(
        (r) =>
          r.activity.channelData?.eventType === eventType &&
          r.activity.channelData?.team?.id === team.id &&
          !String(r.activity.membersAdded?.[0]?.id ?? r.activity.membersRemoved?.[0]?.id).startsWith("28:"),
      );

    const added = await control(emu).post(`/teams/${enc(team.aadGroupId)}/members`, { user: user.aadObjectId, times: 2 });
    expect(added.status).toBe(200);
    expect(added.json).toMatchObject({
      teamId: team.id,
      userId: user.id,
      member: true,
      changed: true,
      deliveries: [{ status: 200 }, { status: 200 }],
    });
    expect(await roster()).toEqual([...before, user.id]);
    expect((await connector(emu, bearer).get(`v3/conversations/${enc(team.id)}/members/${enc(user.id)}`)).status).toBe(200);
    expect((await connector(emu, bearer).get(`v3/teams/${enc(team.id)}`)).json.memberCount).toBe(before.length + 1);
    const joins = seen("teamMemberAdded");
    expect(joins).toHaveLength(2);
    expect(joins[0]!.auth).toMatch(/^Bearer /);
    expect(joins[1]!.activity).toEqual(joins[0]!.activity);
    expect(joins[0]!.activity).toMatchObject({
      type: "conversationUpdate",
      id: added.json.activityId,
      conversation: { conversationType: "channel", id: team.id },
      recipient: { id: `28:${emu.appId}` },
      channelData: { team: { id: team.id, aadGroupId: team.aadGroupId }, tenant: { id: tenant.id } },
      membersAdded: [{ id: user.id, aadObjectId: user.aadObjectId }],
    });
    // A member already: nothing changes, nothing is sent.
    expect((await control(emu).post(`/teams/${enc(team.id)}/members`, { user: user.id })).json).toMatchObject({
      changed: false,
      deliveries: [],
    });
    expect(seen("teamMemberAdded")).toHaveLength(2);

    const removed = await control(emu).del(`/teams/${enc(team.id)}/members/${enc(user.id)}`);
    expect(removed.json).toMatchObject({ member: false, changed: true, deliveries: [{ status: 200 }] });
    expect(await roster()).toEqual(before);
    expect(seen("teamMemberRemoved").map((r) => r.activity.membersRemoved)).toEqual([[{ id: user.id, aadObjectId: user.aadObjectId }]]);
    // Someone of another tenant cannot join; an unknown team is a 404.
    const stranger =
      emu.org.tenants.length > 1 ? emu.org.user(emu.org.tenants[(team.tenantIndex + 1) % emu.org.tenants.length]!.userStart) : undefined;
    if (stranger) expect((await control(emu).post(`/teams/${enc(team.id)}/members`, { user: stranger.id })).status).toBe(400);
    expect((await control(emu).post(`/teams/${enc("19:nope@thread.tacv2")}/members`, { user: user.id })).status).toBe(404);
  });

  it("changes the roster of a team without the app but tells no bot", async () => {
    const team = emu.org.teams[0]!;
    await control(emu).post("/uninstall", { teamId: team.id, wait: true });
    const count = received.length;
    const user = emu.org.user(emu.org.tenants[team.tenantIndex]!.userStart);
    const removed = await control(emu).del(`/teams/${enc(team.id)}/members/${enc(user.id)}`);
    expect(removed.json).toMatchObject({ changed: true, activityId: null, deliveries: [] });
    expect(received.length).toBe(count);
    expect((await control(emu).get(`/teams/${enc(team.id)}`)).json.memberCount).toBe(team.memberCount - 1);
    expect((await control(emu).post(`/teams/${enc(team.id)}/members`, { user: user.id })).json).toMatchObject({
      changed: true,
      deliveries: [],
    });
    await control(emu).post("/install", { teamId: team.id, wait: true });
  });

  it("installs for a whole tenant as a bounded-concurrency job with progress", async () => {
    const before = received.length;
    const started = await control(emu).post("/install", { tenantId: emu.org.tenants[0]!.id });
    expect(started.status).toBe(202);
    expect(started.json).toMatchObject({ state: "running", total: 2500 });
    const done = await eventually(async () => {
      const j = (await control(emu).get(`/jobs/${started.json.id}`)).json;
      return j.state === "completed" ? j : undefined;
    }, 20_000);
    expect(done).toMatchObject({ done: 2500, ok: 2500, failed: 0 });
    expect(received.length - before).toBe(5000);
  });

  it("throttles an install to the requested rate", async () => {
    const t0 = Date.now();
    const job = await control(emu).post("/install", { users: Array.from({ length: 21 }, (_, i) => 100 + i), rate: 100, wait: true });
    expect(job.json).toMatchObject({ state: "completed", ok: 21, rate: 100 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(195); // item 20 starts 200 ms after item 0
  });

  it("uninstalls: the remove pair goes out and sends then answer 403", async () => {
    const user = emu.org.user(10);
    await control(emu).post("/uninstall", { users: [10], wait: true });
    const pair = take((r) => r.activity.from?.id === user.id && (r.activity.action === "remove" || r.activity.membersRemoved));
    expect(pair.map((r) => r.activity.type)).toEqual(["installationUpdate", "conversationUpdate"]);
    const api = connector(emu, await token(emu));
    const r = await api.post(`v3/conversations/${emu.org.personalConversationId(10)}/activities`, {
      type: "message",
      text: "still there?",
    });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe("BotNotInConversationRoster");
    await control(emu).post("/install", { users: [10], wait: true });
    expect(
      (await api.post(`v3/conversations/${emu.org.personalConversationId(10)}/activities`, { type: "message", text: "back" })).status,
    ).toBe(201);
  });
});

describe("user actions", () => {
  it("delivers a user's channel message with an <at> mention of the bot and keeps it in the channel", async () => {
    const team = emu.org.teams[0]!;
    const user = emu.org.user(emu.org.teamMember(team.index, 4));
    const r = await control(emu).post("/messages", { from: user.id, teamId: team.id, text: "status please" });
    expect(r.status).toBe(200);
    expect(r.json.status).toBe(200);
    const activity = received.at(-1)!.activity;
    expect(activity).toMatchObject({
      type: "message",
      text: "<at>Herald</at> status please",
      conversation: { conversationType: "channel", id: `${team.id};messageid=${r.json.id}` },
      channelData: { team: { id: team.id }, channel: { id: team.id }, tenant: { id: user.tenantId } },
    });
    expect(activity.entities[0]).toEqual({
      type: "mention",
      mentioned: { id: `28:${emu.appId}`, name: "Herald" },
      text: "<at>Herald</at>",
    });
    const seen = await control(emu).get(`/conversations/${enc(team.id)}/messages`);
    expect(seen.json.messages.at(-1)).toMatchObject({ from: "user", id: r.json.id, threadId: r.json.id });
  });

  it("presses an Action.Execute button and shows the card the bot answers with", async () => {
    const api = connector(emu, await token(emu));
    const conv = emu.org.personalConversationId(20);
    const card = {
      contentType: "application/vnd.microsoft.card.adaptive",
      content: { type: "AdaptiveCard", version: "1.5", body: [], actions: [{ type: "Action.Execute", verb: "vote", title: "Yes" }] },
    };
    const sent = await api.post(`v3/conversations/${conv}/activities`, { type: "message", attachments: [card] });
    const r = await control(emu).post("/invoke", { from: 20, replyToId: sent.json.id, verb: "vote", data: { choice: "yes" } });
    expect(r.json).toMatchObject({ status: 200, refreshed: true, body: { statusCode: 200, value: refreshedCard } });
    const invoke = received.at(-1)!.activity;
    expect(invoke).toMatchObject({
      type: "invoke",
      name: "adaptiveCard/action",
      replyToId: sent.json.id,
      value: { action: { type: "Action.Execute", verb: "vote", data: { choice: "yes" } }, trigger: "manual" },
    });
    const seen = await control(emu).get(`/conversations/${enc(conv)}/messages`);
    expect(seen.json.messages[0].activity.attachments[0].content).toEqual(refreshedCard);
    expect(seen.json.messages[0].history[0].kind).toBe("refresh");
  });

  it("sends a read receipt for the bot's latest message", async () => {
    const api = connector(emu, await token(emu));
    const conv = emu.org.personalConversationId(21);
    const sent = await api.post(`v3/conversations/${conv}/activities`, { type: "message", text: "read me" });
    const r = await control(emu).post("/read", { from: emu.org.user(21).aadObjectId });
    expect(r.json).toEqual({ status: 200, lastReadMessageId: sent.json.id });
    expect(received.at(-1)!.activity).toMatchObject({
      type: "event",
      name: "application/vnd.microsoft.readReceipt",
      value: { lastReadMessageId: sent.json.id },
    });
    expect((await control(emu).get("/users/21")).json.lastRead).toBe(sent.json.id);
  });

  it("refuses user actions without a bot endpoint with a clear error", async () => {
    const lonely = await start({});
    try {
      const r = await control(lonely).post("/messages", { from: 0, text: "hi" });
      expect(r.status).toBe(409);
      expect(r.json.error.code).toBe("HERALD_E_EMULATOR_NO_BOT");
    } finally {
      await lonely.close();
    }
  });
});
