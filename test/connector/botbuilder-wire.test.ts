/**
 * The wire format of every ConnectorClient operation, checked against Microsoft's own server
 * side: botbuilder's ChannelServiceRoutes (route table and body handling) and
 * ChannelServiceHandler (authentication), served over real HTTP.
 *
 * Authentication is real, not disabled: ChannelServiceHandler validates the bearer token with
 * botframework-connector's JwtTokenValidation. A token shaped like Entra ID's v2 tokens
 * (iss https://login.microsoftonline.com/{tid}/v2.0, ver 2.0, azp = app id,
 * aud https://api.botframework.com) takes its "emulator" path, which reads the signing keys from
 * `AuthenticationConstants.ToBotFromEmulatorOpenIdMetadataUrl`; pointing that at a local OpenID
 * metadata document makes botbuilder verify the RS256 signature, issuer, expiry and app id of the
 * token Herald's client-credentials provider fetched from a local token endpoint.
 * A second handler with an empty SimpleCredentialProvider (authentication disabled) serves the
 * "no credentials" case.
 */
import type {
  Activity,
  ChannelAccount,
  ConversationParameters,
  ConversationResourceResponse,
  PagedMembersResult,
  ResourceResponse,
} from "botbuilder";
import { ChannelServiceHandler, ChannelServiceRoutes } from "botbuilder";
import {
  AuthenticationConfiguration,
  AuthenticationConstants,
  type ClaimsIdentity,
  SimpleCredentialProvider,
} from "botframework-connector";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { channelThread, personalConversation } from "../../src/connector/conversation-params.js";
import { ConnectorError } from "../../src/connector/errors.js";
import { createConnectorClient } from "../../src/connector/factory.js";
import type { HttpConnectorClient } from "../../src/connector/http-client.js";
import { honoWebServer, type RawSeen, serveHono } from "./helpers/botbuilder-server.js";
import { createSigner } from "./helpers/jwt.js";
import { json, startServer, type TestServer, tokenAnswer } from "./helpers/servers.js";

const APP_ID = "6f1c2a8e-0b1d-4c55-9d1e-3f7a2b4c5d6e";
const SECRET = "s3cret~value";
const TENANT = "3a7c1f0e-2d4b-4e6f-8a9b-0c1d2e3f4a5b";

interface Call {
  op: string;
  azp: string | null;
  args: unknown[];
}

class RecordingHandler extends ChannelServiceHandler {
  readonly calls: Call[] = [];

  private record(op: string, claims: ClaimsIdentity, ...args: unknown[]): void {
    this.calls.push({ op, azp: claims.getClaimValue("azp"), args });
  }

  protected override async onCreateConversation(
    claims: ClaimsIdentity,
    parameters: ConversationParameters,
  ): Promise<ConversationResourceResponse> {
    this.record("createConversation", claims, parameters);
    if (parameters.isGroup)
      return { id: "19:general-thread@thread.tacv2;messageid=1700000000001", activityId: "1700000000001", serviceUrl: "" };
    return { id: "a:1pVXl;x@personal", activityId: "", serviceUrl: "https://smba.trafficmanager.net/emea/" };
  }

  protected override async onSendToConversation(
    claims: ClaimsIdentity,
    conversationId: string,
    activity: Activity,
  ): Promise<ResourceResponse> {
    this.record("sendToConversation", claims, conversationId, activity);
    return { id: "1700000000002" };
  }

  protected override async onReplyToActivity(
    claims: ClaimsIdentity,
    conversationId: string,
    activityId: string,
    activity: Activity,
  ): Promise<ResourceResponse> {
    this.record("replyToActivity", claims, conversationId, activityId, activity);
    return { id: "1700000000003" };
  }

  protected override async onUpdateActivity(
    claims: ClaimsIdentity,
    conversationId: string,
    activityId: string,
    activity: Activity,
  ): Promise<ResourceResponse> {
    this.record("updateActivity", claims, conversationId, activityId, activity);
    return { id: activityId };
  }

  protected override async onDeleteActivity(claims: ClaimsIdentity, conversationId: string, activityId: string): Promise<void> {
    this.record("deleteActivity", claims, conversationId, activityId);
  }

  protected override async onGetConversationPagedMembers(
    claims: ClaimsIdentity,
    conversationId: string,
    pageSize?: number,
    continuationToken?: string,
  ): Promise<PagedMembersResult> {
    this.record("getPagedMembers", claims, conversationId, pageSize, continuationToken);
    return continuationToken
      ? { members: [{ id: "29:carol", name: "Carol" }], continuationToken: undefined as unknown as string }
      : {
          members: [
            { id: "29:alice", name: "Alice" },
            { id: "29:bob", name: "Bob" },
          ],
          continuationToken: "page+2/of=3&x",
        };
  }

  protected override async onGetConversationMember(
    claims: ClaimsIdentity,
    userId: string,
    conversationId: string,
  ): Promise<ChannelAccount> {
    this.record("getMember", claims, conversationId, userId);
    return { id: userId, name: "Alice", aadObjectId: "aad-alice" } as ChannelAccount;
  }
}

const ids = {
  user: "29:1Kx-Ab;c@d:e",
  personal: "a:1pVXl;x@personal",
  channel: "19:general-thread@thread.tacv2",
  thread: "19:general-thread@thread.tacv2;messageid=1700000000001",
  activity: "1700000000001:x;y@z",
  member: "29:member;1@contoso:x",
};

let login: TestServer;
let connector: { url: string; close(): Promise<void> };
const raw: RawSeen[] = [];
const authed = new RecordingHandler(new SimpleCredentialProvider(APP_ID, SECRET), new AuthenticationConfiguration());
const anonymous = new RecordingHandler(new SimpleCredentialProvider("", ""), new AuthenticationConfiguration());
let client: HttpConnectorClient;
let noTokenClient: HttpConnectorClient;
let serviceUrl: string;

beforeAll(async () => {
  const signer = await createSigner();
  login = await startServer(async (req, res) => {
    if (req.method === "GET" && req.url === "/common/v2.0/.well-known/openid-configuration") {
      return json(res, 200, {
        issuer: `https://login.microsoftonline.com/${TENANT}/v2.0`,
        jwks_uri: `${login.url}/common/discovery/v2.0/keys`,
      });
    }
    if (req.method === "GET" && req.url === "/common/discovery/v2.0/keys") return json(res, 200, signer.jwks);
    if (req.method === "POST" && req.url === `/${TENANT}/oauth2/v2.0/token`) {
      const form = new URLSearchParams(req.body);
      const ok =
        form.get("grant_type") === "client_credentials" &&
        form.get("client_id") === APP_ID &&
        form.get("client_secret") === SECRET &&
        form.get("scope") === "https://api.botframework.com/.default";
      if (!ok) return json(res, 401, { error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided." });
      const token = await signer.sign({
        iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
        aud: "https://api.botframework.com",
        azp: APP_ID,
        tid: TENANT,
        ver: "2.0",
      });
      return json(res, 200, tokenAnswer(token));
    }
    json(res, 404, { error: "not_found" });
  });
  // botframework-connector reads this (mutable) constant on every validation of an Entra-shaped token.
  (AuthenticationConstants as unknown as Record<string, string>).ToBotFromEmulatorOpenIdMetadataUrl =
    `${login.url}/common/v2.0/.well-known/openid-configuration`;

  const app = new Hono();
  const server = honoWebServer(app);
  new ChannelServiceRoutes(authed).register(server, "/_connector");
  new ChannelServiceRoutes(anonymous).register(server, "/anonymous/_connector");
  connector = await serveHono(app, raw);
  serviceUrl = `${connector.url}/_connector`;

  const config = {
    appId: APP_ID,
    appPassword: SECRET,
    appTenantId: TENANT,
    appType: "SingleTenant" as const,
    cloud: "public" as const,
    tokenEndpoint: `${login.url}/${TENANT}/oauth2/v2.0/token`,
    trustedHosts: ["127.0.0.1"],
  };
  client = createConnectorClient(config, { clock: systemClock });
  noTokenClient = createConnectorClient({ ...config, appPassword: undefined }, { clock: systemClock });
});

afterAll(async () => {
  await client?.close();
  await noTokenClient?.close();
  await connector?.close();
  await login?.close();
});

const lastCall = (h: RecordingHandler) => h.calls[h.calls.length - 1]!;

describe("ConnectorClient against botbuilder's ChannelServiceRoutes", () => {
  it("creates a 1:1 conversation: the parameters arrive intact and the id comes back", async () => {
    const params = personalConversation({ tenantId: TENANT, user: ids.user, bot: { id: `28:${APP_ID}`, name: "Herald" } });
    const created = await client.createConversation(serviceUrl, params);
    expect(created).toEqual({ id: ids.personal, serviceUrl: "https://smba.trafficmanager.net/emea/" });
    const call = lastCall(authed);
    expect(call.op).toBe("createConversation");
    expect(call.azp).toBe(APP_ID);
    expect(call.args[0]).toEqual({
      isGroup: false,
      bot: { id: `28:${APP_ID}`, name: "Herald" },
      members: [{ id: ids.user }],
      tenantId: TENANT,
      channelData: { tenant: { id: TENANT } },
    });
  });

  it("creates a channel thread: channelData.channel and the first activity arrive; id and activityId come back (201)", async () => {
    const activity = { type: "message", text: "**Maintenance** tonight", textFormat: "markdown" as const, summary: "Maintenance" };
    const created = await client.createConversation(serviceUrl, channelThread({ channelId: ids.channel, activity, tenantId: TENANT }));
    expect(created).toEqual({ id: ids.thread, activityId: "1700000000001" });
    expect(lastCall(authed).args[0]).toEqual({
      isGroup: true,
      tenantId: TENANT,
      channelData: { channel: { id: ids.channel }, tenant: { id: TENANT } },
      activity,
    });
    expect(raw[raw.length - 1]).toMatchObject({ method: "POST", path: "/_connector/v3/conversations" });
  });

  it("sends to a conversation whose id has ':', ';' and '@'", async () => {
    const card = { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: 'Ünïcödé ✓ "quotes" <b>' }] };
    const activity = {
      type: "message",
      summary: "A card",
      attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: card }],
      channelData: { notification: { alert: true } },
    };
    const sent = await client.sendToConversation(serviceUrl, ids.thread, activity);
    expect(sent).toEqual({ id: "1700000000002" });
    const call = lastCall(authed);
    expect(call).toMatchObject({ op: "sendToConversation", azp: APP_ID });
    expect(call.args[0]).toBe(ids.thread);
    expect(call.args[1]).toEqual(activity);
    expect(raw[raw.length - 1]!.path).toBe(`/_connector/v3/conversations/${encodeURIComponent(ids.thread)}/activities`);
    expect(raw[raw.length - 1]!.path).not.toMatch(/[:;@]/);
  });

  it("replies to an activity, setting replyToId", async () => {
    const sent = await client.replyToActivity(serviceUrl, ids.thread, ids.activity, { type: "message", text: "reply" });
    expect(sent).toEqual({ id: "1700000000003" });
    expect(lastCall(authed).args).toEqual([ids.thread, ids.activity, { type: "message", text: "reply", replyToId: ids.activity }]);
  });

  it("updates an activity with PUT", async () => {
    const activity = { type: "message", id: ids.activity, text: "edited" };
    expect(await client.updateActivity(serviceUrl, ids.personal, ids.activity, activity)).toEqual({ id: ids.activity });
    expect(lastCall(authed)).toMatchObject({ op: "updateActivity", args: [ids.personal, ids.activity, activity] });
    expect(raw[raw.length - 1]!.method).toBe("PUT");
  });

  it("deletes an activity", async () => {
    await expect(client.deleteActivity(serviceUrl, ids.personal, ids.activity)).resolves.toBeUndefined();
    expect(lastCall(authed)).toMatchObject({ op: "deleteActivity", args: [ids.personal, ids.activity] });
  });

  it("pages through members with pageSize and an opaque continuation token", async () => {
    const first = await client.getPagedMembers(serviceUrl, ids.thread, { pageSize: 100 });
    expect(first).toEqual({
      members: [
        { id: "29:alice", name: "Alice" },
        { id: "29:bob", name: "Bob" },
      ],
      continuationToken: "page+2/of=3&x",
    });
    expect(lastCall(authed).args).toEqual([ids.thread, 100, undefined]);
    const second = await client.getPagedMembers(serviceUrl, ids.thread, { pageSize: 100, continuationToken: first.continuationToken });
    expect(lastCall(authed).args).toEqual([ids.thread, 100, "page+2/of=3&x"]);
    expect(second).toEqual({ members: [{ id: "29:carol", name: "Carol" }], continuationToken: undefined });
  });

  it("gets one member", async () => {
    expect(await client.getMember(serviceUrl, ids.thread, ids.member)).toEqual({ id: ids.member, name: "Alice", aadObjectId: "aad-alice" });
    expect(lastCall(authed).args).toEqual([ids.thread, ids.member]);
  });

  it("keeps the path prefix with or without a trailing slash", async () => {
    const before = authed.calls.length;
    await client.sendToConversation(`${serviceUrl}/`, ids.personal, { type: "message", text: "x" });
    expect(authed.calls.length).toBe(before + 1);
    expect(raw[raw.length - 1]!.path.startsWith("/_connector/v3/")).toBe(true);
  });

  it("is refused by botbuilder without a token (401), as a ConnectorError", async () => {
    const error = await noTokenClient.sendToConversation(serviceUrl, ids.personal, { type: "message", text: "x" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectorError);
    expect(error).toMatchObject({ kind: "http", status: 401, source: "connector", operation: "sendToConversation" });
    expect(raw[raw.length - 1]!.authorization).toBeUndefined();
  });

  it("sends without Authorization when no credentials are configured, which an unauthenticated server accepts", async () => {
    const sent = await noTokenClient.sendToConversation(`${connector.url}/anonymous/_connector`, ids.personal, {
      type: "message",
      text: "hello",
    });
    expect(sent).toEqual({ id: "1700000000002" });
    expect(raw[raw.length - 1]).toMatchObject({ path: expect.stringMatching(/^\/anonymous\/_connector\//), authorization: undefined });
    expect(lastCall(anonymous).args).toEqual([ids.personal, { type: "message", text: "hello" }]);
  });

  it("fetched one token for all of the above", () => {
    expect(login.requests.filter((r) => r.method === "POST")).toHaveLength(1);
    expect(
      raw.filter((r) => r.path.startsWith("/_connector") && r.authorization).every((r) => r.authorization!.startsWith("Bearer ey")),
    ).toBe(true);
  });
});
