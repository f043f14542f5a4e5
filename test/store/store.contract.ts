import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConversationRecord } from "../../src/domain/conversation.js";
import type { ConversationObservation, Store } from "../../src/store/ports.js";
import type { StoreFactory } from "../helpers/stores.js";

/**
 * The contract every `Store` back end keeps; run by sqlite-store.test.ts and postgres-store.test.ts.
 * All tests share one database per back end, so each one works in its own tenant / ids.
 */

const bot = { id: "28:bot", name: "Herald" };
/** Seconds after a fixed epoch, as canonical ISO text. */
const t = (s: number) => new Date(Date.UTC(2025, 0, 1) + s * 1000).toISOString();

let counter = 0;
const run = randomBytes(3).toString("hex");
const uid = (prefix: string) => `${prefix}-${run}-${++counter}`;

function observation(overrides: Partial<ConversationObservation> = {}): ConversationObservation {
  return {
    id: uid("a:conv"),
    kind: "personal",
    tenantId: uid("tenant"),
    serviceUrl: "https://smba.example/teams/",
    channelId: "msteams",
    bot,
    at: t(0),
    ...overrides,
  };
}

export function storeContract(stores: StoreFactory): void {
  let store: Store;
  beforeAll(async () => {
    store = await stores.open();
  });

  describe("upsert", () => {
    it("creates a record from the first observation, exactly as given", async () => {
      const obs = observation({
        user: { id: "29:ann", name: "Ann", aadObjectId: "aad-ann" },
        locale: "en-GB",
        timezone: "Europe/London",
        at: t(1),
      });
      const result = await store.conversations.upsert(obs);
      const expected: ConversationRecord = {
        id: obs.id,
        kind: "personal",
        tenantId: obs.tenantId,
        serviceUrl: obs.serviceUrl,
        channelId: "msteams",
        bot,
        user: { id: "29:ann", name: "Ann", aadObjectId: "aad-ann" },
        locale: "en-GB",
        timezone: "Europe/London",
        lastActivityAt: t(1),
        status: "active",
        statusChangedAt: t(1),
        archived: false,
        createdAt: t(1),
        updatedAt: t(1),
      };
      expect(result).toStrictEqual({ record: expected, created: true, activated: true });
      expect(await store.conversations.get(obs.id)).toStrictEqual(expected);
    });

    it("round-trips team and channel, and leaves undefined optional fields absent", async () => {
      const obs = observation({
        kind: "channel",
        id: uid("19:chan"),
        bot: { id: "28:bot", name: undefined, aadObjectId: undefined },
        team: { id: uid("19:team"), name: "Ops", aadGroupId: undefined },
        channel: { id: "19:chan", name: undefined },
        locale: undefined,
        installedBy: { id: "29:owner", name: undefined, aadObjectId: "aad-owner" },
      });
      const { record } = await store.conversations.upsert(obs);
      const stored = await store.conversations.get(obs.id);
      expect(stored).toStrictEqual(record);
      expect(stored?.bot).toStrictEqual({ id: "28:bot" });
      expect(stored?.team).toStrictEqual({ id: obs.team?.id, name: "Ops" });
      expect(stored?.channel).toStrictEqual({ id: "19:chan" });
      expect(stored?.installedBy).toStrictEqual({ id: "29:owner", aadObjectId: "aad-owner" });
      expect(stored?.installedAt).toBe(t(0));
      expect(Object.keys(stored ?? {})).not.toContain("locale");
      expect(Object.keys(stored ?? {})).not.toContain("user");
      expect(Object.keys(stored ?? {})).not.toContain("statusCode");
    });

    it("merges: undefined fields keep stored values; serviceUrl, lastActivityAt and updatedAt refresh", async () => {
      const first = observation({
        user: { id: "29:bo", name: "Bo", aadObjectId: "aad-bo" },
        locale: "fr-FR",
        timezone: "Europe/Paris",
        at: t(10),
      });
      await store.conversations.upsert(first);
      const result = await store.conversations.upsert({
        ...first,
        serviceUrl: "https://smba.example/emea/",
        user: { id: "29:bo", name: "Bo Renamed", aadObjectId: undefined },
        locale: undefined,
        timezone: "Europe/Berlin",
        at: t(20),
      });
      expect(result.created).toBe(false);
      expect(result.activated).toBe(false);
      expect(result.record).toMatchObject({
        serviceUrl: "https://smba.example/emea/",
        user: { id: "29:bo", name: "Bo Renamed", aadObjectId: "aad-bo" },
        locale: "fr-FR",
        timezone: "Europe/Berlin",
        lastActivityAt: t(20),
        updatedAt: t(20),
        createdAt: t(10),
        statusChangedAt: t(10),
      });
      expect(await store.conversations.get(first.id)).toStrictEqual(result.record);
    });

    it("never moves lastActivityAt backwards", async () => {
      const obs = observation({ at: t(100) });
      await store.conversations.upsert(obs);
      const { record } = await store.conversations.upsert({ ...obs, serviceUrl: "https://smba.example/late/", at: t(50) });
      expect(record.lastActivityAt).toBe(t(100));
      expect(record.serviceUrl).toBe("https://smba.example/late/");
      expect((await store.conversations.get(obs.id))?.lastActivityAt).toBe(t(100));
    });

    it("a repeated install while active is not an activation and keeps the original installer", async () => {
      const obs = observation({ status: "active", statusCode: "installationUpdate:add", installedBy: { id: "29:first" }, at: t(1) });
      expect((await store.conversations.upsert(obs)).activated).toBe(true);
      const again = await store.conversations.upsert({
        ...obs,
        installedBy: { id: "29:second" },
        statusCode: "installationUpdate:add",
        at: t(2),
      });
      expect(again).toMatchObject({ created: false, activated: false });
      expect(again.record).toMatchObject({
        installedBy: { id: "29:first" },
        installedAt: t(1),
        statusChangedAt: t(1),
        lastActivityAt: t(2),
      });
    });

    it("uninstall then reinstall activates again and records the new installer", async () => {
      const obs = observation({ status: "active", installedBy: { id: "29:first" }, at: t(1) });
      await store.conversations.upsert(obs);
      const removed = await store.conversations.upsert({
        ...obs,
        installedBy: undefined,
        status: "uninstalled",
        statusCode: "installationUpdate:remove",
        at: t(2),
      });
      expect(removed.activated).toBe(false);
      expect(removed.record).toMatchObject({ status: "uninstalled", statusCode: "installationUpdate:remove", statusChangedAt: t(2) });
      const back = await store.conversations.upsert({
        ...obs,
        installedBy: { id: "29:second" },
        status: "active",
        statusCode: "installationUpdate:add",
        at: t(3),
      });
      expect(back).toMatchObject({ created: false, activated: true });
      expect(back.record).toMatchObject({
        status: "active",
        statusCode: "installationUpdate:add",
        statusChangedAt: t(3),
        installedBy: { id: "29:second" },
        installedAt: t(3),
      });
    });

    it("a record first seen with another status is created but not activated", async () => {
      const result = await store.conversations.upsert(observation({ status: "uninstalled", statusCode: "installationUpdate:remove" }));
      expect(result).toMatchObject({ created: true, activated: false, record: { status: "uninstalled" } });
    });

    it("concurrent upserts of the same new id: exactly one creates, none is lost", async () => {
      const obs = observation({ status: "active" });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.conversations.upsert({ ...obs, at: t(i) })));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(results.filter((r) => r.activated)).toHaveLength(1);
      expect((await store.conversations.get(obs.id))?.lastActivityAt).toBe(t(19));
    });

    it("rejects a time that is not ISO 8601", async () => {
      await expect(store.conversations.upsert(observation({ at: "yesterday" }))).rejects.toMatchObject({ code: "HERALD_E_STORE_TIME" });
    });
  });

  describe("findPersonal", () => {
    const tenant = uid("tenant");
    const other = uid("tenant");
    const user = { id: uid("29:user"), name: "Cy", aadObjectId: uid("aad") };
    let personalId = "";

    beforeAll(async () => {
      personalId = (await store.conversations.upsert(observation({ tenantId: tenant, user, at: t(1) }))).record.id;
      // Later activity, same user: must lose on kind (group chat) or status (uninstalled).
      await store.conversations.upsert(observation({ kind: "groupChat", id: uid("19:group"), tenantId: tenant, user, at: t(5) }));
      await store.conversations.upsert(observation({ tenantId: other, user, status: "uninstalled", at: t(6) }));
    });

    it("finds the personal chat by Teams id and by Entra object id, with or without tenant", async () => {
      expect((await store.conversations.findPersonal(tenant, user.id))?.id).toBe(personalId);
      expect((await store.conversations.findPersonal(undefined, user.id))?.id).toBe(personalId);
      expect((await store.conversations.findPersonal(tenant, user.aadObjectId))?.id).toBe(personalId);
      expect((await store.conversations.findPersonal(undefined, user.aadObjectId))?.id).toBe(personalId);
    });

    it("filters by tenant and answers undefined for strangers", async () => {
      const inOther = await store.conversations.findPersonal(other, user.aadObjectId);
      expect(inOther).toMatchObject({ tenantId: other, status: "uninstalled" });
      expect(await store.conversations.findPersonal(uid("tenant"), user.id)).toBeUndefined();
      expect(await store.conversations.findPersonal(undefined, uid("29:nobody"))).toBeUndefined();
    });
  });

  describe("list", () => {
    it("pages through 250 records, 100 at a time, in creation order, with no duplicates or gaps", async () => {
      const tenantId = uid("tenant");
      const ids: string[] = [];
      for (let i = 0; i < 250; i++) ids.push((await store.conversations.upsert(observation({ tenantId, at: t(i) }))).record.id);
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.conversations.list({ tenantId }, { cursor, limit: 100 });
        sizes.push(page.items.length);
        seen.push(...page.items.map((r) => r.id));
        // Updating rows already seen and not yet seen must not move them between pages.
        if (seen.length === 100) {
          await store.conversations.upsert(observation({ id: ids[0]!, tenantId, at: t(999) }));
          await store.conversations.upsert(observation({ id: ids[200]!, tenantId, at: t(999) }));
        }
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      expect(sizes).toEqual([100, 100, 50]);
      expect(seen).toEqual(ids);
    });

    it("filters by kind, tenant, status and team, alone and together", async () => {
      const tenantId = uid("tenant");
      const teamId = uid("19:team");
      const make = async (o: Partial<ConversationObservation>) =>
        (await store.conversations.upsert(observation({ tenantId, ...o }))).record.id;
      const p1 = await make({});
      const p2 = await make({});
      const blocked = await make({ status: "blocked", statusCode: "MessageWritesBlocked" });
      const c1 = await make({ kind: "channel", team: { id: teamId } });
      const c2 = await make({ kind: "channel", team: { id: teamId }, status: "deleted" });
      const group = await make({ kind: "groupChat" });
      const elsewhere = (await store.conversations.upsert(observation({ kind: "channel", team: { id: teamId } }))).record.id;
      const ids = async (filter: Parameters<Store["conversations"]["list"]>[0]) =>
        (await store.conversations.list(filter, { limit: 1000 })).items.map((r) => r.id);

      expect(await ids({ tenantId })).toEqual([p1, p2, blocked, c1, c2, group]);
      expect(await ids({ tenantId, kind: "personal" })).toEqual([p1, p2, blocked]);
      expect(await ids({ tenantId, kind: "personal", status: "active" })).toEqual([p1, p2]);
      expect(await ids({ tenantId, status: "blocked" })).toEqual([blocked]);
      expect(await ids({ teamId })).toEqual([c1, c2, elsewhere]);
      expect(await ids({ teamId, tenantId, status: "active" })).toEqual([c1]);
      expect(await ids({ tenantId, kind: "groupChat" })).toEqual([group]);
      const all = await ids({ kind: "channel" });
      expect(all).toEqual(expect.arrayContaining([c1, c2, elsewhere]));
      expect(all).not.toContain(p1);
    });

    it("gives no cursor on a last page that is exactly full", async () => {
      const tenantId = uid("tenant");
      for (let i = 0; i < 3; i++) await store.conversations.upsert(observation({ tenantId }));
      const page = await store.conversations.list({ tenantId }, { limit: 3 });
      expect(page.items).toHaveLength(3);
      expect(page.nextCursor).toBeUndefined();
      expect(await store.conversations.list({ tenantId: uid("tenant") }, { limit: 10 })).toEqual({ items: [], nextCursor: undefined });
    });

    it("rejects a cursor it did not issue and a limit out of range", async () => {
      await expect(store.conversations.list({}, { cursor: "not-a-cursor", limit: 10 })).rejects.toMatchObject({
        code: "HERALD_E_STORE_CURSOR",
      });
      await expect(store.conversations.list({}, { limit: 0 })).rejects.toMatchObject({ code: "HERALD_E_STORE_LIMIT" });
      await expect(store.conversations.list({}, { limit: 1.5 })).rejects.toMatchObject({ code: "HERALD_E_STORE_LIMIT" });
    });
  });

  describe("status and teams", () => {
    it("setStatus changes status, code and time once; the same status again keeps them", async () => {
      const obs = observation({ at: t(1) });
      await store.conversations.upsert(obs);
      expect(await store.conversations.setStatus(obs.id, "blocked", "MessageWritesBlocked", t(2))).toBe(true);
      expect(await store.conversations.setStatus(obs.id, "blocked", "ConversationBlockedByUser", t(3))).toBe(true);
      expect(await store.conversations.get(obs.id)).toMatchObject({
        status: "blocked",
        statusCode: "MessageWritesBlocked",
        statusChangedAt: t(2),
        updatedAt: t(3),
      });
      expect(await store.conversations.setStatus(uid("a:missing"), "blocked", "x", t(4))).toBe(false);
    });

    it("renames, archives and sets the status of every conversation of a team, and only those", async () => {
      const teamId = uid("19:team");
      const members = [];
      for (let i = 0; i < 3; i++) {
        members.push(
          (
            await store.conversations.upsert(
              observation({
                kind: "channel",
                team: { id: teamId, name: "Old", aadGroupId: "group-1" },
                channel: { id: uid("19:ch"), name: `ch${i}` },
              }),
            )
          ).record.id,
        );
      }
      const outsider = (await store.conversations.upsert(observation({ kind: "channel", team: { id: uid("19:team"), name: "Old" } })))
        .record;

      expect(await store.conversations.renameTeam(teamId, "New", t(10))).toBe(3);
      expect(await store.conversations.setTeamArchived(teamId, true, t(11))).toBe(3);
      for (const id of members) {
        expect(await store.conversations.get(id)).toMatchObject({
          team: { id: teamId, name: "New", aadGroupId: "group-1" },
          archived: true,
          updatedAt: t(11),
        });
      }
      expect(await store.conversations.setTeamArchived(teamId, false, t(12))).toBe(3);
      expect((await store.conversations.get(members[0] ?? ""))?.archived).toBe(false);

      expect(await store.conversations.setTeamStatus(teamId, "deleted", "teamDeleted", t(13))).toBe(3);
      const deleted = await store.conversations.list({ teamId, status: "deleted" }, { limit: 10 });
      expect(deleted.items.map((r) => r.id)).toEqual(members);
      expect(deleted.items[0]).toMatchObject({ statusCode: "teamDeleted", statusChangedAt: t(13) });
      expect(await store.conversations.setTeamStatus(teamId, "active", "teamRestored", t(14))).toBe(3);
      expect((await store.conversations.list({ teamId, status: "active" }, { limit: 10 })).items).toHaveLength(3);

      expect(await store.conversations.get(outsider.id)).toStrictEqual(outsider);
      expect(await store.conversations.renameTeam(uid("19:none"), "x", t(15))).toBe(0);
    });
  });

  describe("preferences", () => {
    it("stores opt-out and categories per tenant and user", async () => {
      const tenantId = uid("tenant");
      const userId = uid("29:user");
      expect(await store.preferences.get(tenantId, userId)).toBeUndefined();
      const out = await store.preferences.setOptedOut(tenantId, userId, true, t(1));
      expect(out).toStrictEqual({ tenantId, userId, optedOut: true, optedOutCategories: [], updatedAt: t(1) });
      expect(await store.preferences.get(tenantId, userId)).toStrictEqual(out);

      const categories = await store.preferences.setOptedOutCategories(tenantId, userId, ["surveys", "it-alerts", "surveys"], t(2));
      expect(categories).toStrictEqual({ tenantId, userId, optedOut: true, optedOutCategories: ["surveys", "it-alerts"], updatedAt: t(2) });
      const back = await store.preferences.setOptedOut(tenantId, userId, false, t(3));
      expect(back).toStrictEqual({ tenantId, userId, optedOut: false, optedOutCategories: ["surveys", "it-alerts"], updatedAt: t(3) });
      expect(await store.preferences.get(tenantId, userId)).toStrictEqual(back);

      expect(await store.preferences.get(uid("tenant"), userId)).toBeUndefined();
      const fresh = await store.preferences.setOptedOutCategories(uid("tenant"), userId, ["polls"], t(4));
      expect(fresh).toMatchObject({ optedOut: false, optedOutCategories: ["polls"] });
    });
  });

  describe("lifecycle", () => {
    let second: Store;
    beforeAll(async () => {
      second = await stores.open();
    });
    afterAll(() => second.close());

    it("is ready once open", async () => {
      expect(await store.ready()).toBe(true);
    });

    it("opening the same database again applies nothing and sees the same data", async () => {
      expect(await second.ready()).toBe(true);
      const obs = observation();
      await store.conversations.upsert(obs);
      expect((await second.conversations.get(obs.id))?.id).toBe(obs.id);
    });

    it("is not ready once closed, and closing twice is harmless", async () => {
      const third = await stores.open();
      expect(await third.ready()).toBe(true);
      await third.close();
      await third.close();
      expect(await third.ready()).toBe(false);
      expect(await store.ready()).toBe(true);
    });
  });
}
