import {
  type Activity,
  ActivityTypes,
  CardFactory,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConversationParameters,
  type ConversationReference,
  MessageFactory,
  TeamsInfo,
  TurnContext,
} from "botbuilder";
import {
  AppCredentials,
  type AuthenticatorResult,
  ConnectorClient,
  MicrosoftAppCredentials,
  ServiceClientCredentialsFactory,
} from "botframework-connector";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientCredentialsToken, kept, type SdkEnv, startSdkEnv, teamMemberIds } from "./sdk-env.js";

/**
 * botbuilder (Bot Framework SDK v4) against the emulator with auth on. Its stock credentials
 * (MicrosoftAppCredentials → @azure/msal-node) refuse any authority that is not https
 * (ClientConfigurationError authority_uri_insecure), and the emulator serves plain http on
 * loopback. So the test plugs in a credentials class through botbuilder's own extension
 * points (AppCredentials.refreshToken, ServiceClientCredentialsFactory) that asks the
 * emulator's token endpoint with the same client-credentials request MSAL would send. The
 * rest (ConnectorClient, CloudAdapter, TeamsInfo) is stock.
 */
class EmulatorAppCredentials extends AppCredentials {
  constructor(
    appId: string,
    private readonly secret: string,
    loginEndpoint: string,
    scope: string,
  ) {
    super(appId, undefined, scope);
    this.oAuthEndpoint = loginEndpoint;
  }

  protected async refreshToken(): Promise<AuthenticatorResult> {
    const scope = this.oAuthScope.endsWith("/.default") ? this.oAuthScope : `${this.oAuthScope}/.default`;
    const token = await clientCredentialsToken(`${this.oAuthEndpoint}/oauth2/v2.0/token`, this.appId, this.secret, scope);
    return { accessToken: token.accessToken, expiresOn: new Date(Date.now() + token.expiresIn * 1000) };
  }
}

class EmulatorCredentialsFactory extends ServiceClientCredentialsFactory {
  constructor(
    private readonly appId: string,
    private readonly secret: string,
  ) {
    super();
  }
  async isValidAppId(appId: string): Promise<boolean> {
    return appId === this.appId;
  }
  async isAuthenticationDisabled(): Promise<boolean> {
    return false;
  }
  async createCredentials(appId: string, audience: string | undefined, loginEndpoint: string): Promise<AppCredentials> {
    return new EmulatorAppCredentials(appId, this.secret, loginEndpoint, audience ?? "https://api.botframework.com");
  }
}

let env: SdkEnv;
beforeAll(async () => {
  env = await startSdkEnv("0b1e6a57-1111-4aaa-8bbb-000000000001");
});
afterAll(async () => {
  await env.emu.close();
});

const card = CardFactory.adaptiveCard({ type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "From botbuilder" }] });

describe("botbuilder ConnectorClient", () => {
  function client(): ConnectorClient {
    const credentials = new EmulatorAppCredentials(
      env.appId,
      env.secret,
      `${env.emu.url}/botframework.com`,
      "https://api.botframework.com",
    );
    return new ConnectorClient(credentials, { baseUri: env.emu.connectorUrl });
  }

  it("stock MicrosoftAppCredentials cannot reach an http token endpoint (MSAL requires https), which is why a credentials class is plugged in", async () => {
    const stock = new MicrosoftAppCredentials(env.appId, env.secret);
    stock.oAuthEndpoint = `${env.emu.url}/botframework.com`;
    await expect(stock.getToken(true)).rejects.toThrow(/https|insecure/i);
  });

  it("creates a 1:1 conversation, sends, replies, updates, deletes and pages members", async () => {
    const api = client().conversations;
    const created = await api.createConversation({
      isGroup: false,
      bot: { id: `28:${env.appId}`, name: "Herald" },
      members: [{ id: env.user.id, name: env.user.name }],
      tenantId: env.tenant.id,
      channelData: { tenant: { id: env.tenant.id } },
    } as ConversationParameters);
    expect(created.id).toBe(env.emu.org.personalConversationId(env.user.index));
    const again = await api.createConversation({
      isGroup: false,
      members: [{ id: env.user.id }],
      tenantId: env.tenant.id,
    } as ConversationParameters);
    expect(again.id).toBe(created.id);

    const sent = await api.sendToConversation(created.id, MessageFactory.text("Hello from ConnectorClient") as Activity);
    expect(sent.id).toMatch(/^\d{13,}$/);
    const reply = await api.replyToActivity(created.id, sent.id, { ...MessageFactory.attachment(card), replyToId: sent.id } as Activity);
    expect(reply.id).toMatch(/^\d{13,}$/);
    const updated = await api.updateActivity(created.id, sent.id, { ...MessageFactory.text("Hello, edited"), id: sent.id } as Activity);
    expect(updated.id).toBe(sent.id);
    await api.deleteActivity(created.id, reply.id);

    const messages = await kept(env.emu, created.id);
    const first = messages.find((m) => m.id === sent.id);
    expect(first.activity.text).toBe("Hello, edited");
    expect(first.history[0].kind).toBe("update");
    expect(messages.find((m) => m.id === reply.id).deletedAt).toBeTruthy();

    const ids: string[] = [];
    let token: string | undefined;
    do {
      // The typings want a string; TeamsInfo passes undefined for the first page, as here.
      const page = await api.getConversationPagedMembers(env.team.id, { pageSize: 50, continuationToken: token as string });
      expect(page.members.length).toBeLessThanOrEqual(50);
      ids.push(...page.members.map((m) => m.id));
      token = page.continuationToken || undefined;
    } while (token);
    expect(ids.sort()).toEqual(teamMemberIds(env.emu, env.team).sort());
  });

  it("starts a channel thread (activity required) and replies in it", async () => {
    const api = client().conversations;
    const created = await api.createConversation({
      isGroup: true,
      channelData: { channel: { id: env.channel.id } },
      activity: MessageFactory.text("New thread from botbuilder") as Activity,
    } as ConversationParameters);
    expect(created.id).toBe(`${env.channel.id};messageid=${created.activityId}`);
    const reply = await api.sendToConversation(created.id, MessageFactory.text("a reply in the thread") as Activity);
    const messages = await kept(env.emu, created.id);
    expect(messages.map((m) => m.id)).toEqual([created.activityId, reply.id]);
  });
});

describe("botbuilder CloudAdapter", () => {
  function adapter(): CloudAdapter {
    const auth = new ConfigurationBotFrameworkAuthentication(
      { MicrosoftAppId: env.appId, ToChannelFromBotLoginUrl: `${env.emu.url}/botframework.com` },
      new EmulatorCredentialsFactory(env.appId, env.secret),
    );
    const a = new CloudAdapter(auth);
    a.onTurnError = async (_ctx, err) => {
      throw err;
    };
    return a;
  }

  it("createConversationAsync, then continueConversationAsync: send, reply, update, delete and TeamsInfo paging", async () => {
    const cloud = adapter();
    const user = env.emu.org.user(env.tenant.userStart + 6);
    let reference: Partial<ConversationReference> | undefined;
    await cloud.createConversationAsync(
      env.appId,
      "msteams",
      env.emu.connectorUrl,
      "https://api.botframework.com",
      {
        isGroup: false,
        members: [{ id: user.id, name: user.name }],
        tenantId: env.tenant.id,
        channelData: { tenant: { id: env.tenant.id } },
      } as ConversationParameters,
      async (ctx) => {
        reference = TurnContext.getConversationReference(ctx.activity);
        await ctx.sendActivity("Welcome (sent inside createConversationAsync)");
      },
    );
    expect(reference?.conversation?.id).toBe(env.emu.org.personalConversationId(user.index));

    let sentId = "";
    let replyId = "";
    await cloud.continueConversationAsync(env.appId, reference!, async (ctx) => {
      const sent = await ctx.sendActivity(MessageFactory.text("Proactive hello from CloudAdapter"));
      sentId = sent!.id;
      const reply = await ctx.sendActivity({ ...MessageFactory.attachment(card), replyToId: sentId });
      replyId = reply!.id;
      await ctx.updateActivity({ ...MessageFactory.text("Proactive hello, edited"), id: sentId, type: ActivityTypes.Message });
      await ctx.deleteActivity(replyId);
    });
    const messages = await kept(env.emu, reference!.conversation!.id);
    expect(messages.map((m) => m.activity?.text ?? null)).toEqual([
      "Welcome (sent inside createConversationAsync)",
      "Proactive hello, edited",
      null,
    ]);
    expect(messages[2].id).toBe(replyId);
    expect(messages[2].deletedAt).toBeTruthy();

    const channelRef: Partial<ConversationReference> = {
      channelId: "msteams",
      serviceUrl: env.emu.connectorUrl,
      conversation: { id: env.team.id, isGroup: true, conversationType: "channel", name: "", tenantId: env.tenant.id },
      bot: { id: `28:${env.appId}`, name: "Herald" },
    };
    const ids: string[] = [];
    await cloud.continueConversationAsync(env.appId, channelRef, async (ctx) => {
      let token: string | undefined;
      do {
        const page = await TeamsInfo.getPagedMembers(ctx, 50, token);
        ids.push(...page.members.map((m) => m.id));
        token = page.continuationToken || undefined;
      } while (token);
    });
    expect(ids).toHaveLength(env.team.memberCount);
    expect(new Set(ids).size).toBe(env.team.memberCount);
  });
});
