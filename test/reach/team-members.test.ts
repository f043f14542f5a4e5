import { afterAll, beforeAll, expect, it } from "vitest";
import { resolveAudience } from "../../src/delivery/audience/resolve.js";
import type { Store } from "../../src/store/ports.js";
import { type Json, messagesOf, notifyAndWait } from "../graph/stack.js";
import { call, eventually, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Issue 15, "a team member added later is recorded": someone joins a team where the app is
 * installed; Teams tells the bot (conversationUpdate teamMemberAdded) and Herald keeps the person
 * (Teams id, Entra object id, tenant, the team's serviceUrl), so a notification to their Entra
 * object id creates their 1:1 chat with their Teams id and reaches them before they ever wrote.
 * The emulator refuses Entra object ids as create members here (Teams' behaviour is unverified),
 * so only the Teams id Herald learnt can start the chat.
 */
forEachStore((stores) => {
  let stack: Stack;
  let store: Store;
  let team: { id: string; tenantId: string };
  let newcomer: Json;
  beforeAll(async () => {
    store = await stores.open();
    stack = await startStack(store, {
      emulator: {
        org: { tenants: 1, users: 40, teams: 2, teamSize: 8, blockedShare: 0, uninstalledShare: 0 },
        acceptObjectIdMembers: false,
      },
    });
    // Team 0 is everyone of the tenant; team 1 is a few of them.
    const t = stack.emulator.org.teams[1]!;
    team = { id: t.id, tenantId: stack.emulator.org.tenants[0]!.id };
    await emu("POST", "/_emulator/install", { teamId: team.id, wait: true });
    await eventually("the team stored", async () => ((await store.conversations.get(team.id)) ? true : undefined));
    // Someone of the tenant who is not in the team yet.
    const roster = (await emu("GET", `/_emulator/teams/${encodeURIComponent(team.id)}/members?limit=1000`)).json["members"] as Json[];
    const users = (await emu("GET", `/_emulator/users?tenantId=${team.tenantId}&limit=1000`)).json["users"] as Json[];
    newcomer = users.find((u) => !roster.some((m) => m["id"] === u["id"]))!;
  });
  afterAll(() => stack?.close());

  const emu = (method: string, path: string, body?: unknown) => call(method, `${stack.emulator.url}${path}`, body);
  const membersPath = () => `/_emulator/teams/${encodeURIComponent(team.id)}/members`;
  const rowsOf = async () => (await store.teamMembers?.list(team.id)) ?? [];

  it("a person added to the team, delivered twice, is stored once with their ids, tenant and the team's serviceUrl", async () => {
    expect(await store.conversations.findPersonal(team.tenantId, newcomer["aadObjectId"] as string)).toBeUndefined();
    const added = await emu("POST", membersPath(), { user: newcomer["id"], times: 2 });
    expect(added.status).toBe(200);
    expect(added.json).toMatchObject({ changed: true, member: true, deliveries: [{ status: 200 }, { status: 200 }] });
    const roster = (await emu("GET", `${membersPath()}?limit=1000`)).json["members"] as Json[];
    expect(roster.some((m) => m["id"] === newcomer["id"])).toBe(true);
    const rows = (await rowsOf()).filter((r) => r.user.id === newcomer["id"]);
    expect(rows).toEqual([
      expect.objectContaining({
        teamId: team.id,
        tenantId: team.tenantId,
        serviceUrl: stack.emulator.connectorUrl,
        user: expect.objectContaining({ id: newcomer["id"], aadObjectId: newcomer["aadObjectId"] }),
        status: "member",
        statusCode: "teamMemberAdded",
      }),
    ]);
  });

  it("a notification to their Entra object id creates their 1:1 chat with their Teams id and delivers", async () => {
    const { view, rows } = await notifyAndWait(stack, {
      audience: { users: [newcomer["aadObjectId"]], tenantId: team.tenantId },
      message: { text: "Welcome aboard, newcomer" },
    });
    expect(rows).toHaveLength(1);
    expect(view["counts"]).toMatchObject({ sent: 1 });
    const texts = (await messagesOf(stack, newcomer["conversationId"] as string)).map((m) => JSON.stringify(m));
    expect(texts.filter((t) => t.includes("Welcome aboard, newcomer"))).toHaveLength(1);
    // The chat Herald created is stored: later notifications find it directly.
    expect((await store.conversations.findPersonal(team.tenantId, newcomer["id"] as string))?.id).toBe(newcomer["conversationId"]);
  });

  it("a team-members audience includes them", async () => {
    const { rows } = await notifyAndWait(stack, { audience: { teams: [team.id], deliverTo: "members" }, message: { text: "Team news" } });
    expect(rows.find((r) => JSON.stringify(r).includes(newcomer["id"] as string))).toMatchObject({ status: "sent" });
  });

  it("their leaving, delivered twice, is recorded once: no longer a member of the team", async () => {
    const removed = await emu("DELETE", `${membersPath()}/${encodeURIComponent(newcomer["id"] as string)}`, { times: 2 });
    expect(removed.json).toMatchObject({ changed: true, member: false, deliveries: [{ status: 200 }, { status: 200 }] });
    const rows = (await rowsOf()).filter((r) => r.user.id === newcomer["id"]);
    expect(rows).toEqual([expect.objectContaining({ status: "removed", statusCode: "teamMemberRemoved" })]);
    const { rows: members } = await notifyAndWait(stack, {
      audience: { teams: [team.id], deliverTo: "members" },
      message: { text: "After they left" },
    });
    expect(members.some((r) => JSON.stringify(r).includes(newcomer["id"] as string))).toBe(false);
  });

  it("a users audience reaches a known member on their team's serviceUrl, not any other of the tenant, and not once they left", async () => {
    const tenantId = "tenant-members-unit";
    const bot = { id: `28:${stack.emulator.appId}` };
    const at = new Date().toISOString();
    // A newer conversation of the tenant elsewhere: what Herald would use for a stranger.
    await store.conversations.upsert({
      id: "19:team-x@thread.tacv2",
      kind: "channel",
      tenantId,
      serviceUrl: "http://127.0.0.1:9/team-x/",
      channelId: "msteams",
      bot,
      team: { id: "19:team-x@thread.tacv2" },
      at,
    });
    await store.conversations.upsert({
      id: "a:someone-else",
      kind: "personal",
      tenantId,
      serviceUrl: "http://127.0.0.1:9/elsewhere/",
      channelId: "msteams",
      bot,
      user: { id: "29:someone-else" },
      at,
    });
    const aad = "0f0e0d0c-0b0a-4908-8706-050403020100";
    const change = {
      teamId: "19:team-x@thread.tacv2",
      tenantId,
      serviceUrl: "http://127.0.0.1:9/team-x/",
      users: [{ id: "29:member-x", aadObjectId: aad }],
      status: "member" as const,
      statusCode: "teamMemberAdded",
      changedAt: at,
      at,
    };
    await store.teamMembers?.record(change);
    const resolved = await resolveAudience({ users: [aad.toUpperCase()], tenantId }, store.recipients, undefined, "http://default/");
    expect(resolved.rows).toEqual([
      expect.objectContaining({
        kind: "user",
        targetId: "29:member-x",
        serviceUrl: "http://127.0.0.1:9/team-x/",
        recipientKey: `user:${tenantId}:29:member-x`,
        status: "pending",
      }),
    ]);
    // An older redelivery of the add cannot undo a later removal.
    const later = new Date(Date.parse(at) + 1000).toISOString();
    await store.teamMembers?.record({ ...change, status: "removed", statusCode: "teamMemberRemoved", changedAt: later, at: later });
    await store.teamMembers?.record(change);
    expect((await store.teamMembers?.list("19:team-x@thread.tacv2"))?.map((r) => r.status)).toEqual(["removed"]);
    const after = await resolveAudience({ users: [aad], tenantId }, store.recipients, undefined, "http://default/");
    expect(after.rows[0]).toMatchObject({ targetId: aad, serviceUrl: "http://127.0.0.1:9/elsewhere/" });
  });
});
