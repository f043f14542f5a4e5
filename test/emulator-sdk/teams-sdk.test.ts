import { type ActivityParams, Client, type CreateConversationParams } from "@microsoft/teams.api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentialsToken, kept, type SdkEnv, startSdkEnv, teamMemberIds } from "./sdk-env.js";

/**
 * The Teams SDK v2 API client (`@microsoft/teams.api` Client) against the emulator with auth
 * on. The client takes its bearer token from a `token` factory (what `@microsoft/teams.apps`
 * feeds it from MSAL); here the factory asks the emulator's token endpoint. Everything else
 * is the stock client: it joins `serviceUrl + "/v3/..."` (a double slash after a serviceUrl
 * ending in "/"), sends ids raw, and asks for `pagedMembers`.
 */
let env: SdkEnv;
let client: Client;
let tokenRequests = 0;

beforeAll(async () => {
  env = await startSdkEnv("0b1e6a57-3333-4aaa-8bbb-000000000003");
  let cached: { token: string; until: number } | undefined;
  const token = async () => {
    if (cached && cached.until > Date.now()) return cached.token;
    tokenRequests++;
    const t = await clientCredentialsToken(env.tokenUrl, env.appId, env.secret, "https://api.botframework.com/.default");
    cached = { token: t.accessToken, until: Date.now() + (t.expiresIn - 300) * 1000 };
    return cached.token;
  };
  client = new Client(env.emu.connectorUrl, { token });
});
afterAll(async () => {
  await env.emu.close();
});

function message(text: string): ActivityParams {
  return { type: "message", text } as ActivityParams;
}

describe("Teams SDK v2 API client", () => {
  it("creates a 1:1 conversation, sends, replies, updates and deletes", async () => {
    const created = await client.conversations.create({
      isGroup: false,
      bot: { id: `28:${env.appId}` },
      members: [{ id: env.user.id, name: env.user.name, role: "user" }],
      tenantId: env.tenant.id,
      channelData: { tenant: { id: env.tenant.id } },
    } as CreateConversationParams);
    expect(created.id).toBe(env.emu.org.personalConversationId(env.user.index));
    const activities = client.conversations.activities(created.id);
    const sent = await activities.create(message("Hello from the Teams SDK"));
    const reply = await activities.reply(sent.id, {
      type: "message",
      attachments: [
        {
          contentType: "application/vnd.microsoft.card.adaptive",
          content: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "From the Teams SDK" }] },
        },
      ],
    } as ActivityParams);
    const updated = await activities.update(sent.id, message("Hello, edited"));
    expect(updated.id).toBe(sent.id);
    await activities.delete(reply.id);
    const messages = await kept(env.emu, created.id);
    expect(messages.map((m) => m.activity?.text ?? null)).toEqual(["Hello, edited", null]);
    expect(messages[1].deletedAt).toBeTruthy();
    expect(tokenRequests).toBe(1);
  });

  it("starts a channel thread and pages the team's members by 50 (pagedMembers)", async () => {
    const thread = await client.conversations.create({
      isGroup: true,
      channelData: { channel: { id: env.channel.id } },
      activity: message("A thread from the Teams SDK"),
    } as CreateConversationParams);
    expect(thread.id).toBe(`${env.channel.id};messageid=${thread.activityId}`);
    await client.conversations.activities(thread.id).create(message("in the thread"));
    expect(await kept(env.emu, thread.id)).toHaveLength(2);

    const ids: string[] = [];
    let next: string | undefined;
    do {
      const page = await client.conversations.members(env.team.id).getPaged(50, next);
      expect(page.members.length).toBeLessThanOrEqual(50);
      ids.push(...page.members.map((m) => m.id));
      next = page.continuationToken || undefined;
    } while (next);
    expect(ids.sort()).toEqual(teamMemberIds(env.emu, env.team).sort());
    const one = await client.conversations.members(env.team.id).getById(env.user.id);
    expect(one.aadObjectId).toBe(env.user.aadObjectId);
  });

  it("is refused without a token (auth is on) and with a secret the emulator does not know", async () => {
    const anonymous = new Client(env.emu.connectorUrl);
    await expect(anonymous.conversations.activities(env.team.id).create(message("no token"))).rejects.toMatchObject({ status: 401 });
    await expect(clientCredentialsToken(env.tokenUrl, env.appId, "wrong", "https://api.botframework.com/.default")).rejects.toThrow(/401/);
  });

  it("gets the team's details and channels", async () => {
    const details = await client.teams.getById(env.team.id);
    expect(details.aadGroupId).toBe(env.team.aadGroupId);
    const channels = await client.teams.getConversations(env.team.id);
    expect(channels.map((c) => c.id)).toEqual(env.team.channels.map((c) => c.id));
  });
});
