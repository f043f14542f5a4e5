import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NewDelivery, type Notification, SYSTEM_CREATOR } from "../../src/delivery/model.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import type { Store, WelcomeStore } from "../../src/store/ports.js";
import { conversationRows } from "../helpers/rows.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Welcome holds (021_welcome_holds), the contract every store keeps, on SQLite and PostgreSQL:
 * an install event holds its conversation until the welcome is sent (or the hold's time ends),
 * and a claim anywhere holds other notifications' rows into it back (`heldReason: "welcome"`).
 */
forEachStore((stores) => {
  let store: Store;
  let holds: WelcomeStore;
  let d: DeliveryStore;
  const t0 = Date.parse("2027-03-10T09:00:00.000Z");
  const at = (ms: number) => new Date(t0 + ms).toISOString();

  beforeAll(async () => {
    store = await stores.open();
    if (!store.welcomes) throw new Error("this store keeps no welcome holds");
    holds = store.welcomes;
    d = store.deliveries;
  });
  afterAll(async () => {
    await stores.cleanup();
  });

  describe("WelcomeStore", () => {
    it("opens a hold per install (a reinstall's replaces the last), names its welcome once, ends it with that welcome only", async () => {
      expect(await holds.get("a:h1")).toBeUndefined();
      await holds.expect("a:h1", at(0), at(10_000));
      expect(await holds.get("a:h1")).toEqual({ conversationId: "a:h1", askedAt: at(0), notificationId: undefined, until: at(10_000) });
      await holds.stored("a:h1", "n_w1", at(100));
      await holds.stored("a:h1", "n_w2", at(20_000)); // already named: nothing
      expect(await holds.get("a:h1")).toEqual({ conversationId: "a:h1", askedAt: at(0), notificationId: "n_w1", until: at(10_000) });
      // Another notification's end: nothing; its welcome's: the hold ends then.
      await holds.settled(["n_other"], at(400));
      expect((await holds.get("a:h1"))?.until).toBe(at(10_000));
      await holds.settled(["n_other", "n_w1"], at(500));
      expect((await holds.get("a:h1"))?.until).toBe(at(500));
      // A reinstall's hold replaces it; the old welcome's end, told late, does not end the new hold.
      await holds.expect("a:h1", at(60_000), at(70_000));
      expect(await holds.get("a:h1")).toEqual({
        conversationId: "a:h1",
        askedAt: at(60_000),
        notificationId: undefined,
        until: at(70_000),
      });
      await holds.settled(["n_w1"], at(61_000));
      expect((await holds.get("a:h1"))?.until).toBe(at(70_000));
    });

    it("a welcome stored late holds at least until the time it gives; cancel ends only an unnamed hold it names by time", async () => {
      await holds.expect("a:h2", at(0), at(10_000));
      await holds.stored("a:h2", "n_late", at(15_000));
      expect((await holds.get("a:h2"))?.until).toBe(at(15_000));
      await holds.cancel("a:h2", at(0), at(16_000)); // names a welcome: stays
      expect((await holds.get("a:h2"))?.until).toBe(at(15_000));
      await holds.expect("a:h3", at(0), at(10_000));
      await holds.cancel("a:h3", at(-5), at(30)); // another hold's time: nothing
      expect((await holds.get("a:h3"))?.until).toBe(at(10_000));
      await holds.cancel("a:h3", at(0), at(40));
      expect((await holds.get("a:h3"))?.until).toBe(at(40));
      // An ended hold is never moved later.
      await holds.cancel("a:h3", at(0), at(9_000));
      await holds.settled(["n_none"], at(9_000));
      expect(await holds.get("a:h3")).toEqual({ conversationId: "a:h3", askedAt: at(0), notificationId: undefined, until: at(40) });
    });

    it("the upsert that activates a conversation opens its hold in the same transaction; one that does not, none", async () => {
      const observation = {
        id: "a:up1",
        kind: "personal" as const,
        tenantId: "t_up",
        serviceUrl: "https://smba.example/",
        channelId: "msteams",
        bot: { id: "28:bot" },
        user: { id: "29:up1" },
        status: "active" as const,
        statusCode: "installationUpdate:add",
        at: at(1_000),
      };
      const first = await store.conversations.upsert(observation, { conversationId: "a:up1", until: at(11_000) });
      expect(first.activated).toBe(true);
      expect(await holds.get("a:up1")).toEqual({
        conversationId: "a:up1",
        askedAt: at(1_000),
        notificationId: undefined,
        until: at(11_000),
      });
      await holds.stored("a:up1", "n_up", at(11_000));
      // The install's second event (Teams sends two): not an activation, the hold stays whole.
      const again = await store.conversations.upsert({ ...observation, at: at(1_500) }, { conversationId: "a:up1", until: at(11_500) });
      expect(again.activated).toBe(false);
      expect(await holds.get("a:up1")).toEqual({ conversationId: "a:up1", askedAt: at(1_000), notificationId: "n_up", until: at(11_000) });
    });

    it("install leases: one owner at a time until it releases or its time ends; a release may keep it a while", async () => {
      expect(await holds.claimInstall("t|p1", "o1", at(60_000), at(0))).toBe(true);
      expect(await holds.claimInstall("t|p1", "o2", at(60_100), at(100))).toBe(false);
      await holds.releaseInstall("t|p1", "o2"); // not its lease: nothing
      expect(await holds.claimInstall("t|p1", "o2", at(60_200), at(200))).toBe(false);
      await holds.releaseInstall("t|p1", "o1", at(10_000)); // kept until 10 s (an install event may still come)
      expect(await holds.claimInstall("t|p1", "o2", at(60_300), at(9_999))).toBe(false);
      expect(await holds.claimInstall("t|p1", "o2", at(70_000), at(10_000))).toBe(true);
      await holds.releaseInstall("t|p1", "o2");
      expect(await holds.claimInstall("t|p1", "o3", at(70_000), at(10_001))).toBe(true);
      // A lease whose time passed is taken over (its process died).
      expect(await holds.claimInstall("t|p1", "o4", at(140_000), at(70_000))).toBe(true);
    });
  });

  describe("claims", () => {
    let n = 0;
    const create = async (rows: NewDelivery[], over: Partial<{ createdBy: string; priority: "urgent" }> = {}): Promise<Notification> => {
      n++;
      const { notification } = await d.createNotification(
        {
          id: `n_wh${String(n).padStart(4, "0")}`,
          createdBy: over.createdBy ?? "k",
          requestHash: "h",
          audience: { conversations: rows.map((r) => r.conversationId ?? "") },
          message: { text: "x" },
          createdAt: t0,
          expansionDone: true,
          ...(over.priority ? { priority: over.priority } : {}),
        },
        rows,
      );
      return notification;
    };

    it("holds rows into a conversation whose welcome is on its way, urgent or not, and lets them go once it was sent", async () => {
      // Conversations a:0..a:3; a:1 and a:2 are being welcomed.
      const rows = conversationRows(4, "t_claim");
      await holds.expect("a:1", at(0), at(10_000));
      await holds.expect("a:2", at(0), at(10_000));
      for (const priority of [undefined, "urgent" as const]) {
        const note = await create(rows, priority ? { priority } : {});
        const jobs = await d.claim("w1", note.id, "t_claim", t0 + 1_000, 10);
        expect(jobs.map((j) => j.conversationId).sort()).toEqual(["a:0", "a:3"]);
        const list = (await d.listDeliveries(note.id, {}, { limit: 10 })).items;
        const held = list.filter((r) => r.heldReason === "welcome").map((r) => [r.conversationId, r.status, r.heldUntil]);
        // Looked at again 250 ms later, not at the hold's end: the welcome usually goes sooner.
        expect(held.sort()).toEqual([
          ["a:1", "pending", at(1_250)],
          ["a:2", "pending", at(1_250)],
        ]);
        // Nothing claimed before its time.
        expect(await d.claim("w1", note.id, "t_claim", t0 + 1_100, 10)).toEqual([]);
      }
      // a:1's welcome was sent; a:2's hold ends by its time only.
      await holds.stored("a:1", "n_welcome_a1", at(1_300));
      await holds.settled(["n_welcome_a1"], at(1_400));
      const later = await create(rows.slice(1, 3));
      expect((await d.claim("w1", later.id, "t_claim", t0 + 1_500, 10)).map((j) => j.conversationId)).toEqual(["a:1"]);
      // The rows held at first go at their next look: a:1 then, a:2 once its hold ended.
      expect((await d.claim("w1", "n_wh0001", "t_claim", t0 + 1_500, 10)).map((j) => j.conversationId)).toEqual(["a:1"]);
      expect((await d.claim("w1", "n_wh0001", "t_claim", t0 + 10_000, 10)).map((j) => j.conversationId)).toEqual(["a:2"]);
    });

    it("never holds the bot's own replies (the welcome itself, answers) behind a welcome", async () => {
      const rows = conversationRows(1, "t_reply");
      await holds.expect("a:0", at(20_000), at(30_000));
      const reply = await create(rows, { createdBy: SYSTEM_CREATOR, priority: "urgent" });
      expect((await d.claim("w1", reply.id, "t_reply", t0 + 21_000, 10)).map((j) => j.conversationId)).toEqual(["a:0"]);
    });
  });
});
