import type { KeyObject } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { type EmulatorHandle, startEmulator } from "../../src/emulator/index.js";
import { createSigningKeys, signActivityToken } from "../../src/inbound/auth/signing.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { APP_ID, bob, personalInstall, personalMessage, type UserLike } from "../helpers/activities.js";
import { call, eventually } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { ISSUER, type OpenIdServer, startOpenIdServer } from "../inbound-auth/support.js";

/**
 * Web Chat and Direct Line are on for every Azure Bot and their tokens pass the same JWT checks
 * as Teams' (the Bot Framework's keys endorse them). Their activities, and Teams activities
 * without a tenant, must be answered and otherwise ignored: nothing stored, nothing sent, never
 * part of an audience (issue 9). The emulator plays the Connector, so "nothing sent" is its own
 * request counter.
 */

const API_KEY = "test-admin-key-0123456789";
type Json = Record<string, unknown>;

forEachStore((stores) => {
  let emulator: EmulatorHandle;
  let openid: OpenIdServer;
  let herald: Herald;
  let signingKey: KeyObject;
  /** The emulator's first user's chat, installed on Teams in beforeAll. */
  let teamsChat = "";

  beforeAll(async () => {
    emulator = await startEmulator({ appId: APP_ID, org: { tenants: 1, users: 2, teams: 0, blockedShare: 0, uninstalledShare: 0 } });
    // Bot Framework's real keys endorse several channels; Teams is only one of them.
    const keys = await createSigningKeys({ kid: "bf", endorsements: ["msteams", "webchat", "directline"] });
    signingKey = keys.privateKey;
    openid = await startOpenIdServer([keys]);
    const config = loadConfig({
      HERALD_APP_ID: APP_ID,
      HERALD_APP_PASSWORD: "emulator-secret",
      HERALD_APP_TYPE: "MultiTenant",
      HERALD_TOKEN_ENDPOINT: emulator.tokenUrl,
      HERALD_OPENID_METADATA_URL: openid.metadataUrl,
      HERALD_TOKEN_ISSUER: ISSUER,
      HERALD_TRUSTED_HOSTS: "127.0.0.1",
      HERALD_API_KEY: API_KEY,
      HERALD_TENANT_RPS: "0",
    });
    herald = await createHerald(config, { logger: silentLogger, store: await stores.open() });
    // The control: a Teams install is stored and welcomed, and the emulator's counter sees it.
    await installOnTeams();
  });
  afterAll(async () => {
    await herald?.close();
    await openid?.close();
    await emulator?.close();
  });

  async function post(activity: Json): Promise<number> {
    const serviceUrl = activity["serviceUrl"] as string;
    const token = await signActivityToken({
      key: signingKey,
      kid: "bf",
      issuer: ISSUER,
      audience: APP_ID,
      serviceUrl,
      lifetimeSeconds: 3600,
      now: Date.now(),
    });
    const res = await herald.fetch(
      new Request("http://herald.test/api/messages", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(activity),
      }),
    );
    await res.arrayBuffer();
    return res.status;
  }
  /** Every request the emulator's Connector answered (sends, creates, reads, token fetches aside). */
  const connectorRequests = async () =>
    ((await call("GET", `${emulator.url}/_emulator/stats`)).json["global"] as Json)["requests"] as number;
  const apiCall = async (method: string, path: string, body?: unknown) => {
    const res = await herald.fetch(
      new Request(`http://herald.test${path}`, {
        method,
        headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
    return { status: res.status, json: (await res.json()) as Json };
  };
  const at = (_user: UserLike, extra: Json): Json => ({ ...extra, serviceUrl: emulator.connectorUrl });
  const ignored = () => herald.metrics.inbound.get({ type: "installationUpdate", result: "ignored" });

  /** A Teams install of the emulator's first user is welcomed (the Connector sees it), so the counter can see a send. */
  async function installOnTeams(): Promise<void> {
    const u = emulator.org.user(0);
    const tenantId = emulator.org.tenants[0]?.id as string;
    const user: UserLike = { id: u.id, name: u.name, aadObjectId: u.aadObjectId };
    teamsChat = emulator.org.personalConversationId(0);
    const conversation = { id: teamsChat, conversationType: "personal", tenantId };
    const before = await connectorRequests();
    for (const a of personalInstall(user, { conversation, channelData: { tenant: { id: tenantId } } }))
      expect(await post(at(user, a))).toBe(200);
    await herald.handler.drain();
    expect(await connectorRequests()).toBeGreaterThan(before);
    expect((await herald.store.conversations.get(teamsChat))?.status).toBe("active");
  }

  it("ignores Web Chat and Direct Line: 200, nothing stored, no welcome or answer sent, counted", async () => {
    const before = await connectorRequests();
    const ignoredBefore = ignored();
    for (const channelId of ["webchat", "directline"]) {
      const user: UserLike = { id: `29:${channelId}-user`, name: "Visitor", aadObjectId: `aad-${channelId}` };
      // What those channels send: no tenant, a conversation of their own.
      const conversation = { id: `${channelId}-conv-1` };
      const [install, update] = personalInstall(user, { channelId, conversation, channelData: {} });
      expect(await post(at(user, install))).toBe(200);
      expect(await post(at(user, update))).toBe(200);
      // "stop" would write an opt-out if the message were used: the check below can see it.
      expect(await post(at(user, { ...personalMessage(user, "stop"), channelId, conversation, channelData: {} }))).toBe(200);
      await herald.handler.drain();
      expect(await herald.store.conversations.get(conversation.id)).toBeUndefined();
      // The same channel WITH a tenant is still not Teams.
      const withTenant = personalInstall(user, { channelId, conversation: { id: `${channelId}-conv-2`, tenantId: "tenant-1" } })[0];
      expect(await post(at(user, withTenant))).toBe(200);
      const tenantConversation = { id: `${channelId}-conv-2`, tenantId: "tenant-1" };
      const stopWithTenant = {
        ...personalMessage(user, "stop"),
        channelId,
        conversation: tenantConversation,
        channelData: { tenant: { id: "tenant-1" } },
      };
      expect(await post(at(user, stopWithTenant))).toBe(200);
      await herald.handler.drain();
      expect(await herald.store.conversations.get(`${channelId}-conv-2`)).toBeUndefined();
    }
    await herald.handler.drain();
    expect(await connectorRequests()).toBe(before);
    expect(ignored()).toBe(ignoredBefore + 4);
    for (const channelId of ["webchat", "directline"]) {
      expect(await herald.store.preferences.get("", `29:${channelId}-user`)).toBeUndefined();
      expect(await herald.store.preferences.get("tenant-1", `29:${channelId}-user`)).toBeUndefined();
    }
  });

  it("ignores a Teams activity without a tenant id: nothing stored, nothing sent", async () => {
    const before = await connectorRequests();
    const [install, update] = personalInstall(bob, { channelData: {} });
    const noTenant = (a: Json): Json => ({ ...a, conversation: { id: "a:chat-bob", conversationType: "personal" }, channelData: {} });
    expect(await post(at(bob, noTenant(install)))).toBe(200);
    expect(await post(at(bob, noTenant(update)))).toBe(200);
    expect(await post(at(bob, noTenant(personalMessage(bob, "stop"))))).toBe(200);
    await herald.handler.drain();
    expect(await herald.store.conversations.get("a:chat-bob")).toBeUndefined();
    expect(await herald.store.preferences.get("", bob.id)).toBeUndefined();
    expect(await connectorRequests()).toBe(before);
  });

  it("never puts a non-Teams or tenant-less conversation (stored by an older version) in an audience", async () => {
    const now = new Date().toISOString();
    for (const [id, channelId, tenantId] of [
      ["webchat-old", "webchat", ""],
      ["a:teams-no-tenant", "msteams", ""],
    ] as const) {
      await herald.store.conversations.upsert({
        id,
        kind: "personal",
        tenantId,
        serviceUrl: emulator.connectorUrl,
        channelId,
        bot: { id: `28:${APP_ID}` },
        user: { id: `29:${id}`, name: id },
        at: now,
        status: "active",
      });
    }
    const before = await connectorRequests();
    const sent = await apiCall("POST", "/v1/notifications", { audience: { all: true }, message: { text: "to everyone" } });
    expect(sent.status).toBe(202);
    const id = sent.json["id"] as string;
    const done = await eventually("the broadcast completed", async () => {
      const n = await apiCall("GET", `/v1/notifications/${id}`);
      return n.json["status"] === "completed" ? n.json : undefined;
    });
    const deliveries = (await apiCall("GET", `/v1/notifications/${id}/deliveries`)).json["items"] as { conversationId: string }[];
    expect(deliveries.map((d) => d.conversationId)).toEqual([teamsChat]);
    expect(done["total"]).toBe(1);
    expect((done["counts"] as Json)["sent"]).toBe(1);
    // Named explicitly, they are not Teams conversations Herald knows: failed, never sent.
    const named = await apiCall("POST", "/v1/notifications", {
      audience: { conversations: ["webchat-old", "a:teams-no-tenant"] },
      message: { text: "to them" },
    });
    const namedId = named.json["id"] as string;
    const namedDone = await eventually("the named notification completed", async () => {
      const n = await apiCall("GET", `/v1/notifications/${namedId}`);
      return n.json["status"] === "completed" ? n.json : undefined;
    });
    expect((namedDone["counts"] as Json)["sent"]).toBe(0);
    // One send only: the broadcast to the Teams chat.
    expect((await connectorRequests()) - before).toBe(1);
  });

  it("never sends to a channel or team known only from Web Chat or tenant-less rows (stored by an older version)", async () => {
    const now = new Date().toISOString();
    for (const [id, channelId, tenantId, team] of [
      ["19:webchat-channel@thread.tacv2", "webchat", "tenant-1", "19:webchat-team@thread.tacv2"],
      ["19:no-tenant-channel@thread.tacv2", "msteams", "", "19:no-tenant-team@thread.tacv2"],
    ] as const) {
      await herald.store.conversations.upsert({
        id,
        kind: "channel",
        tenantId,
        serviceUrl: emulator.connectorUrl,
        channelId,
        bot: { id: `28:${APP_ID}` },
        team: { id: team, name: team },
        channel: { id, name: id },
        at: now,
        status: "active",
      });
    }
    const before = await connectorRequests();
    const teams = ["19:webchat-team@thread.tacv2", "19:no-tenant-team@thread.tacv2"];
    for (const audience of [
      { channels: ["19:webchat-channel@thread.tacv2", "19:no-tenant-channel@thread.tacv2"] },
      { channels: teams },
      { teams, deliverTo: "channel" },
      { teams, deliverTo: "members" },
    ]) {
      const sent = await apiCall("POST", "/v1/notifications", { audience, message: { text: "to old rows" } });
      expect(sent.status, JSON.stringify(audience)).toBe(202);
      const id = sent.json["id"] as string;
      const done = await eventually("the notification completed", async () => {
        const n = await apiCall("GET", `/v1/notifications/${id}`);
        return n.json["status"] === "completed" ? n.json : undefined;
      });
      expect(done["total"], JSON.stringify(audience)).toBe(2);
      expect((done["counts"] as Json)["sent"], JSON.stringify(audience)).toBe(0);
      const rows = (await apiCall("GET", `/v1/notifications/${id}/deliveries`)).json["items"] as Json[];
      expect(
        rows.map((r) => [r["status"], r["lastErrorCode"]]),
        JSON.stringify(audience),
      ).toEqual([
        ["failed", "HERALD_E_UNKNOWN_TEAM"],
        ["failed", "HERALD_E_UNKNOWN_TEAM"],
      ]);
    }
    // Nothing reached the Connector: no message, no roster read.
    expect(await connectorRequests()).toBe(before);
  });
});
