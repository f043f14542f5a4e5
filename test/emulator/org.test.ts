import { describe, expect, it } from "vitest";
import { GeneratedOrg, orgFromData } from "../../src/emulator/index.js";
import { IdCodec, Kind } from "../../src/emulator/org/ids.js";
import { UserFlag } from "../../src/emulator/org/model.js";

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("ids", () => {
  it("encode and decode every kind, and refuse ids from another seed", () => {
    const codec = new IdCodec(42);
    const other = new IdCodec(43);
    for (const i of [0, 1, 2, 999_999, 2 ** 31 - 1]) {
      expect(codec.decodeUserId(codec.userId(i))).toBe(i);
      expect(codec.decodePersonalId(codec.personalId(i))).toBe(i);
      expect(codec.decodeGuid(Kind.aad, codec.guid(Kind.aad, i))).toBe(i);
      expect(codec.guid(Kind.aad, i)).toMatch(uuid);
      expect(other.decodeUserId(codec.userId(i))).toBe(-1);
    }
    expect(codec.decodeThread(codec.teamId(7))).toEqual({ kind: "team", team: 7 });
    expect(codec.decodeThread(codec.channelId(7, 2))).toEqual({ kind: "channel", team: 7, channel: 2 });
    expect(codec.decodeThread(codec.chatId(3))).toEqual({ kind: "chat", chat: 3 });
    expect(codec.userId(1)).toMatch(/^29:1[A-Za-z0-9_-]{22}$/);
    expect(codec.teamId(1)).toMatch(/^19:[0-9a-f]{32}@thread\.tacv2$/);
    expect(codec.chatId(1)).toMatch(/^19:[0-9a-f]{32}@thread\.v2$/);
    expect(codec.decodeUserId("29:1AAAAAAAAAAAAAAAAAAAAA")).toBe(-1);
  });
});

describe("generated organisation", () => {
  it("is deterministic for a seed and different for another", () => {
    const a = new GeneratedOrg(5, { tenants: 3, users: 1000, teams: 9 });
    const b = new GeneratedOrg(5, { tenants: 3, users: 1000, teams: 9 });
    const c = new GeneratedOrg(6, { tenants: 3, users: 1000, teams: 9 });
    expect(a.user(123)).toEqual(b.user(123));
    expect(a.teams).toEqual(b.teams);
    expect(a.user(123).id).not.toBe(c.user(123).id);
  });

  it("gives users every field, splits them over tenants, and finds them by either id", () => {
    const org = new GeneratedOrg(1, { tenants: 3, users: 1000 });
    expect(org.tenants.map((t) => t.userCount)).toEqual([334, 333, 333]);
    const u = org.user(400);
    expect(u.tenantIndex).toBe(1);
    expect(u.tenantId).toBe(org.tenants[1]!.id);
    expect(u.aadObjectId).toMatch(uuid);
    expect(u.name).toBe(`${u.givenName} ${u.surname}`);
    expect(u.timezone).toMatch(/^[A-Za-z_]+\/[A-Za-z_]+$/);
    expect(u.locale).toMatch(/^[a-z]{2}-[A-Z]{2}$/);
    expect(org.userIndexOf(u.id)).toBe(400);
    expect(org.userIndexOf(u.aadObjectId)).toBe(400);
    expect(org.userIndexOf(`8:orgid:${u.aadObjectId}`)).toBe(400);
    expect(org.userIndexOf("29:unknown")).toBe(-1);
  });

  it("builds teams whose General channel id is the team id, with consistent membership", () => {
    const org = new GeneratedOrg(1, { tenants: 2, users: 500, teams: 6, channelsPerTeam: 3 });
    const everyone = org.teams[0]!;
    expect(everyone.memberCount).toBe(250);
    expect(everyone.channels[0]!.id).toBe(everyone.id);
    expect(everyone.channels.map((c) => c.name)).toEqual(["General", "Announcements", "Random"]);
    const team = org.teams[2]!;
    const members = new Set<number>();
    for (let k = 0; k < team.memberCount; k++) members.add(org.teamMember(team.index, k));
    expect(members.size).toBe(team.memberCount);
    const t = org.tenants[team.tenantIndex]!;
    for (let u = t.userStart; u < t.userStart + t.userCount; u++) expect(org.isTeamMember(team.index, u)).toBe(members.has(u));
    expect(org.threadTarget(team.channels[2]!.id)).toMatchObject({ kind: "channel", team: { index: 2 }, channel: { index: 2 } });
    expect(org.teamById(team.aadGroupId)?.index).toBe(2);
  });

  it("marks about the configured shares of users blocked and uninstalled", () => {
    const org = new GeneratedOrg(9, { users: 100_000, blockedShare: 0.02, uninstalledShare: 0.01 });
    let blocked = 0;
    let uninstalled = 0;
    for (let i = 0; i < org.userCount; i++) {
      const f = org.initialFlags(i);
      if (f === UserFlag.blocked) blocked++;
      if (f === UserFlag.uninstalled) uninstalled++;
    }
    expect(blocked).toBeGreaterThan(1_800);
    expect(blocked).toBeLessThan(2_200);
    expect(uninstalled).toBeGreaterThan(850);
    expect(uninstalled).toBeLessThan(1_150);
  });

  it("refuses bad flags with a message naming them", () => {
    expect(() => new GeneratedOrg(1, { blockedShare: 1.5 })).toThrow(/blockedShare/);
    expect(() => new GeneratedOrg(1, { tenants: 0 })).toThrow(/tenants/);
  });
});

describe("organisation from a file", () => {
  it("loads users, teams, chats and flags, deriving missing ids", () => {
    const org = orgFromData({
      seed: 7,
      tenants: [
        {
          name: "Contoso",
          users: [
            { name: "Ada Lovelace", timezone: "Europe/London", locale: "en-GB" },
            { givenName: "Alan", surname: "Turing", blocked: true },
            { name: "Grace Hopper", id: "29:grace" },
          ],
          teams: [{ name: "Engineering", channels: ["Ops", { name: "Releases" }], members: ["Ada Lovelace", "29:grace"] }],
          chats: [{ topic: "Lunch", members: ["Ada Lovelace", "Alan Turing"] }],
        },
      ],
    });
    expect(org.userCount).toBe(3);
    expect(org.user(0)).toMatchObject({
      name: "Ada Lovelace",
      givenName: "Ada",
      surname: "Lovelace",
      timezone: "Europe/London",
      locale: "en-GB",
      country: "GB",
    });
    expect(org.user(1).name).toBe("Alan Turing");
    expect(org.initialFlags(1)).toBe(UserFlag.blocked);
    expect(org.userIndexOf("29:grace")).toBe(2);
    expect(org.teams[0]!.channels.map((c) => c.name)).toEqual(["General", "Ops", "Releases"]);
    expect(org.isTeamMember(0, 2)).toBe(true);
    expect(org.isTeamMember(0, 1)).toBe(false);
    expect(org.chats[0]!.memberCount).toBe(2);
    expect(org.personalConversationUser(org.personalConversationId(1))).toBe(1);
  });

  it("names the bad field of an invalid file", () => {
    expect(() => orgFromData({ tenants: [{ name: "X", users: [{}] }] })).toThrow(/HERALD_E_EMULATOR_ORG: tenants\.0\.users\.0/);
    expect(() => orgFromData({ tenants: [{ name: "X", users: [{ name: "A" }], teams: [{ name: "T", members: ["Nobody"] }] }] })).toThrow(
      /no user "Nobody"/,
    );
  });
});
