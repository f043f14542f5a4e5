import { afterAll, beforeAll, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";
import { addsUp, admin, finished, type Harness, request, startHarness } from "./helpers/harness.js";

/** Every audience kind, end to end: API-level engine calls → store → real emulator over HTTP. */
forEachStore((stores) => {
  let store: Store;
  let h: Harness;
  beforeAll(async () => {
    store = await stores.open();
    h = await startHarness(store, {
      emulator: { org: { tenants: 2, users: 300, teams: 4, channelsPerTeam: 3 } },
      config: { rosterPage: 50, expansionPage: 25 },
    });
    await h.seedUsers(Array.from({ length: 60 }, (_, i) => i));
  });
  afterAll(async () => {
    await h.close();
  });

  it("conversations: each stored conversation gets the message once, templated for its user", async () => {
    const ids = [0, 1, 2, 3, 4].map((i) => h.emulator.org.personalConversationId(i));
    const { notification } = await h.engine.submit(
      request({ conversations: [...ids, ids[0]!] }, { text: "Hi ${givenName} (${name}), ${title}" }, { data: { title: "news" } }),
      admin,
    );
    expect(notification.total).toBe(5);
    const done = await h.waitFor(notification.id, finished);
    expect(done.status).toBe("completed");
    expect(done.counts.sent).toBe(5);
    expect(addsUp(done)).toBe(true);
    for (let i = 0; i < 5; i++) expect(h.received(i).received).toBe(1);
    const u = h.emulator.org.user(2);
    const msgs = h.emulator.context.messages.list(h.emulator.org.personalConversationId(2));
    const text = (JSON.parse(msgs.at(-1)!.activity) as { text: string }).text;
    expect(text).toBe(`Hi ${u.givenName} (${u.name}), news`);
    const page = await h.engine.deliveries(notification.id, {}, { limit: 10 });
    expect(page.items.every((d) => d.status === "sent" && d.activityId && d.attempts === 1)).toBe(true);
  });

  it("conversations: an unknown id is reported failed, the others are sent", async () => {
    const { notification } = await h.engine.submit(request({ conversations: [h.emulator.org.personalConversationId(5), "a:nope"] }), admin);
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 1, failed: 1 });
    const failed = await h.engine.deliveries(notification.id, { status: "failed" }, { limit: 10 });
    expect(failed.items[0]?.lastErrorCode).toBe("HERALD_E_UNKNOWN_CONVERSATION");
  });

  it("users: stored chats by Teams or Entra id, and chats created (and stored) for users Herald never talked to", async () => {
    const org = h.emulator.org;
    const tenantId = org.user(0).tenantId;
    // Users 0..59 have stored chats; pick new ones of the same tenant (tenant 0 holds users 0..99).
    const fresh = [70, 71, 72];
    const before = fresh.map((i) => h.received(i).received);
    const users = [org.user(6).id, org.user(7).aadObjectId, ...fresh.map((i) => org.user(i).id), org.user(73).aadObjectId];
    const { notification } = await h.engine.submit(request({ users, tenantId }, { text: "Welcome ${name}" }), admin);
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts.sent).toBe(6);
    expect(addsUp(done)).toBe(true);
    for (const [k, i] of fresh.entries()) expect(h.received(i).received).toBe(before[k]! + 1);
    expect(h.received(73).received).toBe(1);
    // The created chats are stored: the next broadcast finds them without creating.
    const chat = await store.conversations.findPersonal(tenantId, org.user(70).id);
    expect(chat?.id).toBe(org.personalConversationId(70));
    const creates = h.stats()["creates"]!;
    const again = await h.engine.submit(request({ users: [org.user(70).id], tenantId }), admin);
    await h.waitFor(again.notification.id, finished);
    expect(h.stats()["creates"]).toBe(creates);
  });

  it("users: without a stored chat and without tenantId the row says what to pass", async () => {
    const { notification } = await h.engine.submit(request({ users: [h.emulator.org.user(80).id] }), admin);
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts.failed).toBe(1);
    const page = await h.engine.deliveries(notification.id, {}, { limit: 5 });
    expect(page.items[0]?.lastErrorCode).toBe("HERALD_E_TENANT_REQUIRED");
  });

  it("channels and teams→channel: a new thread in each channel", async () => {
    const org = h.emulator.org;
    await h.seedTeam(0);
    await h.seedTeam(1);
    const team0 = org.teams[0]!;
    const team1 = org.teams[1]!;
    const c1 = h.emulator.context.counts.get(team0.id).received;
    const { notification } = await h.engine.submit(
      request(
        { channels: [team0.id] },
        { card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "Card for ${tenantId}" }] } },
      ),
      admin,
    );
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts.sent).toBe(1);
    expect(h.emulator.context.counts.get(team0.id).received).toBe(c1 + 1);
    const row = (await h.engine.deliveries(notification.id, {}, { limit: 1 })).items[0]!;
    expect(row.conversationId).toMatch(/;messageid=/);
    expect(row.activityId).toBeTruthy();

    const t = await h.engine.submit(request({ teams: [team0.id, team1.id, "19:unknown@thread.tacv2"], deliverTo: "channel" }), admin);
    const tdone = await h.waitFor(t.notification.id, finished);
    expect(tdone.counts).toMatchObject({ sent: 2, failed: 1 });
    expect(h.emulator.context.counts.get(team1.id).received).toBe(1);
  });

  it("teams→members: the roster is paged with continuation tokens and every member gets a 1:1 once", async () => {
    const org = h.emulator.org;
    // Team 0 is tenant 0's everyone-team: 150 members, three roster pages of 50.
    const team = org.teams[0]!;
    expect(team.memberCount).toBe(150);
    const members = Array.from({ length: team.memberCount }, (_, k) => org.teamMember(0, k));
    const before = new Map(members.map((u) => [u, h.received(u).received]));
    const reads = h.stats()["reads"]!;
    const { notification } = await h.engine.submit(
      request({ teams: [team.id], deliverTo: "members" }, { text: "Team news for ${givenName}" }),
      admin,
    );
    const done = await h.waitFor(notification.id, finished, 30_000);
    expect(done.total).toBe(team.memberCount);
    expect(done.counts.sent).toBe(team.memberCount);
    expect(addsUp(done)).toBe(true);
    for (const u of members) expect(h.received(u).received).toBe(before.get(u)! + 1);
    expect(h.stats()["reads"]! - reads).toBe(3);
  });

  it("teams→members for a tenant-limited caller: another tenant's team is reported unknown and its roster never read", async () => {
    const org = h.emulator.org;
    const own = [...org.teams].filter((t) => t.tenantIndex === 0).sort((a, b) => a.memberCount - b.memberCount)[0]!;
    const foreign = [...org.teams].filter((t) => t.tenantIndex !== 0).sort((a, b) => a.memberCount - b.memberCount)[0]!;
    await h.seedTeam(own.index);
    await h.seedTeam(foreign.index);
    const tenantA = org.tenants[own.tenantIndex]!.id;
    const reads = h.stats()["reads"]!;
    // The foreign team first: an expansion that did not keep to the caller's tenants would read its roster.
    const { notification } = await h.engine.submit(request({ teams: [foreign.id, own.id], deliverTo: "members" }), {
      keyId: "key_limited_to_a",
      tenants: [tenantA],
    });
    const done = await h.waitFor(notification.id, finished, 30_000);
    expect(done.total).toBe(own.memberCount + 1);
    const rows = (await h.engine.deliveries(notification.id, {}, { limit: 1000 })).items;
    const failed = rows.filter((r) => r.kind === "team");
    expect(failed.map((r) => [r.targetId, r.lastErrorCode, r.tenantId])).toEqual([[foreign.id, "HERALD_E_UNKNOWN_TEAM", ""]]);
    expect(rows.filter((r) => r.kind !== "team").every((r) => r.tenantId === tenantA)).toBe(true);
    const pages = Math.max(1, Math.ceil(own.memberCount / 50));
    expect(h.stats()["reads"]! - reads).toBe(pages);
  });

  it("all (one tenant): every active personal chat of the tenant, none of the other tenant's", async () => {
    const org = h.emulator.org;
    const tenant1 = org.tenants[1]!;
    await h.seedUsers([150, 151, 152, 250]);
    const before150 = h.received(150).received;
    const before0 = h.received(0).received;
    const { notification } = await h.engine.submit(request({ all: true, tenantId: tenant1.id }), admin);
    const done = await h.waitFor(notification.id, finished);
    const stored = (await store.conversations.list({ kind: "personal", tenantId: tenant1.id, status: "active" }, { limit: 1000 })).items
      .length;
    expect(done.total).toBe(stored);
    expect(done.counts.sent).toBe(stored);
    expect(h.received(150).received).toBe(before150 + 1);
    expect(h.received(0).received).toBe(before0);
  });

  it("all: every active personal chat of every tenant, expanded in pages", async () => {
    const { notification } = await h.engine.submit(request({ all: true }, { text: "Everyone" }), admin);
    const done = await h.waitFor(notification.id, finished);
    const stored = (await store.conversations.list({ kind: "personal", status: "active" }, { limit: 1000 })).items.length;
    expect(done.total).toBe(stored);
    expect(done.counts.sent).toBe(stored);
    expect(addsUp(done)).toBe(true);
  });

  it("Teams never had to answer 429: limits were applied before sending", () => {
    expect(h.stats()["throttled"]).toBe(0);
    expect(h.stats()["violations"]).toBe(0);
  });
});
