import { Activity, type ConversationParameters, type ConversationReference } from "@microsoft/agents-activity";
import {
  type AuthConfiguration,
  type AuthProvider,
  CardFactory,
  CloudAdapter,
  type Connections,
  ConnectorClient,
  type HttpClient,
  MessageFactory,
  MsalTokenProvider,
  type TurnContext,
} from "@microsoft/agents-hosting";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentialsToken, kept, type SdkEnv, startSdkEnv, teamMemberIds } from "./sdk-env.js";

/**
 * The Microsoft 365 Agents SDK (`@microsoft/agents-hosting`) against the emulator with auth
 * on. Its token provider is MSAL (`MsalTokenProvider`), which refuses an http authority, so
 * the adapter gets a `Connections` (its own extension point, `adapter.connectionManager`)
 * whose provider asks the emulator's token endpoint with the client-credentials request MSAL
 * would send. CloudAdapter, TurnContext and ConnectorClient are stock.
 */
class EmulatorTokenProvider implements AuthProvider {
  constructor(
    private readonly tokenUrl: string,
    readonly connectionSettings: AuthConfiguration,
  ) {}

  getAccessToken(authConfigOrScope: AuthConfiguration | string, scope?: string): Promise<string> {
    const wanted = typeof authConfigOrScope === "string" ? authConfigOrScope : (scope ?? "https://api.botframework.com");
    const full = wanted.endsWith("/.default") ? wanted : `${wanted}/.default`;
    const { clientId, clientSecret } = this.connectionSettings;
    return clientCredentialsToken(this.tokenUrl, clientId!, clientSecret!, full).then((t) => t.accessToken);
  }
  getAgenticApplicationToken = (): Promise<string> => Promise.reject(new Error("agentic tokens are not part of this test"));
  getAgenticInstanceToken = (): Promise<string> => Promise.reject(new Error("agentic tokens are not part of this test"));
  getAgenticUserToken = (): Promise<string> => Promise.reject(new Error("agentic tokens are not part of this test"));
  acquireTokenOnBehalfOf(): Promise<string> {
    return Promise.reject(new Error("on-behalf-of is not part of this test"));
  }
}

function emulatorConnections(provider: EmulatorTokenProvider): Connections {
  return {
    getConnection: () => provider,
    getDefaultConnection: () => provider,
    getTokenProvider: () => provider,
    getTokenProviderFromActivity: () => provider,
    getDefaultConnectionConfiguration: () => provider.connectionSettings,
  };
}

/**
 * Paged members the way the Agents SDK's Teams extension (`TeamsInfo.getPagedMembers`) asks:
 * `GET v3/conversations/{id}/pagedMembers` (capital M) through the connector client's HTTP
 * client. The extension package is not installed here; the request is the same.
 */
async function pagedMembers(
  client: ConnectorClient,
  conversationId: string,
  pageSize: number,
  continuationToken?: string,
): Promise<{ members: { id: string }[]; continuationToken?: string }> {
  const http = (client as unknown as { _httpClient: HttpClient })._httpClient;
  const params: Record<string, string | undefined> = { pageSize: String(pageSize), continuationToken };
  const res = await http.request<{ members: { id: string }[]; continuationToken?: string }>({
    method: "get",
    url: `/v3/conversations/${conversationId}/pagedMembers`,
    params,
  });
  return res.data;
}

let env: SdkEnv;
let settings: AuthConfiguration;
beforeAll(async () => {
  env = await startSdkEnv("0b1e6a57-2222-4aaa-8bbb-000000000002");
  settings = { clientId: env.appId, clientSecret: env.secret, tenantId: "botframework.com" };
});
afterAll(async () => {
  await env.emu.close();
});

function adapter(): CloudAdapter {
  const a = new CloudAdapter(settings);
  a.connectionManager = emulatorConnections(new EmulatorTokenProvider(env.tokenUrl, settings));
  a.onTurnError = async (_ctx, err) => {
    throw err;
  };
  return a;
}

const card = CardFactory.adaptiveCard({ type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "From the Agents SDK" }] });

describe("Agents SDK", () => {
  it("stock MsalTokenProvider refuses the emulator's http authority, which is why a token provider is plugged in", async () => {
    const msal = new MsalTokenProvider({ ...settings, authority: env.emu.url });
    await expect(msal.getAccessToken("https://api.botframework.com")).rejects.toThrow(/https|insecure/i);
  });

  it("CloudAdapter.createConversationAsync then continueConversation: send, reply, update, delete", async () => {
    const cloud = adapter();
    let reference: ConversationReference | undefined;
    let client: ConnectorClient | undefined;
    await cloud.createConversationAsync(
      env.appId,
      "msteams",
      env.emu.connectorUrl,
      "https://api.botframework.com",
      {
        isGroup: false,
        agent: { id: `28:${env.appId}`, name: "Herald" },
        members: [{ id: env.user.id, name: env.user.name }],
        tenantId: env.tenant.id,
        channelData: { tenant: { id: env.tenant.id } },
      } as unknown as ConversationParameters,
      async (ctx: TurnContext) => {
        reference = ctx.activity.getConversationReference();
        client = ctx.turnState.get<ConnectorClient>(cloud.ConnectorClientKey);
        await ctx.sendActivity(MessageFactory.text("Welcome from the Agents SDK"));
      },
    );
    expect(reference?.conversation.id).toBe(env.emu.org.personalConversationId(env.user.index));
    expect(client).toBeInstanceOf(ConnectorClient);

    let sentId = "";
    let replyId = "";
    await cloud.continueConversation(env.appId, reference!, async (ctx) => {
      const sent = await ctx.sendActivity(MessageFactory.text("Proactive hello from the Agents SDK"));
      sentId = sent!.id!;
      const replyActivity = MessageFactory.attachment(card);
      replyActivity.replyToId = sentId;
      const reply = await ctx.sendActivity(replyActivity);
      replyId = reply!.id!;
      const update = MessageFactory.text("Proactive hello, edited");
      update.id = sentId;
      await ctx.updateActivity(update);
      await ctx.deleteActivity(replyId);
    });
    const messages = await kept(env.emu, reference!.conversation.id);
    expect(messages.map((m) => m.activity?.text ?? null)).toEqual(["Welcome from the Agents SDK", "Proactive hello, edited", null]);
    expect(messages[2].id).toBe(replyId);
    expect(messages[1].history[0].kind).toBe("update");
  });

  it("ConnectorClient: a channel thread, a member by id, and members paged by 50", async () => {
    const token = await new EmulatorTokenProvider(env.tokenUrl, settings).getAccessToken("https://api.botframework.com");
    const client = ConnectorClient.createClientWithToken(env.emu.connectorUrl, token);
    const thread = await client.createConversation({
      isGroup: true,
      channelData: { channel: { id: env.channel.id } },
      activity: Activity.fromObject({ type: "message", text: "A new thread from the Agents SDK" }),
    } as unknown as ConversationParameters);
    expect(thread.id).toBe(`${env.channel.id};messageid=${thread.activityId}`);
    const reply = await client.replyToActivity(
      thread.id,
      thread.activityId,
      Activity.fromObject({ type: "message", text: "in the thread" }),
    );
    expect((await kept(env.emu, thread.id)).map((m) => m.id)).toEqual([thread.activityId, reply.id]);

    const member = await client.getConversationMember(env.user.id, env.team.id);
    expect(member.aadObjectId ?? (member as unknown as { objectId: string }).objectId).toBe(env.user.aadObjectId);

    const ids: string[] = [];
    let next: string | undefined;
    do {
      const page = await pagedMembers(client, env.team.id, 50, next);
      expect(page.members.length).toBeLessThanOrEqual(50);
      ids.push(...page.members.map((m) => m.id));
      next = page.continuationToken || undefined;
    } while (next);
    expect(ids.sort()).toEqual(teamMemberIds(env.emu, env.team).sort());
  });
});
