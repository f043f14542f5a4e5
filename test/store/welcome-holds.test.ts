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
    it("keeps one hold per conversation: a live one is never replaced, an ended one is", async () => {
      expect(await holds.get("a:h1")).toBeUndefined();
      expect(await holds.expect("a:h1", at(0), at(10_000))).toBe(true);
      expect(await holds.get("a:h1")).toEqual({ conversationId: "a:h1", askedAt: at(0), notificationId: undefined, until: at(10_000) });
      // The same install told twice (installationUpdate, then conversationUpdate): the first hold stays whole.
      await holds.stored("a:h1", "n_w1", at(100));
      expect(await holds.expect("a:h1", at(200), at(10_200))).toBe(false);
      expect(await holds.get("a:h1")).toEqual({ conversationId: "a:h1", askedAt: at(0), notificationId: "n_w1", until: at(10_000) });
      // Its welcome sent: the hold ends then, and the next install's hold replaces it.
      await holds.settled(["n_other", "n_w1"], at(500));
      expect((await holds.get("a:h1"))?.until).toBe(at(500));
      expect(await holds.expect("a:h1", at(60_000), at(70_000))).toBe(true);
      expect(await holds.get("a:h1")).toEqual({
        conversationId: "a:h1",
        askedAt: at(60_000),
        notificationId: undefined,
        until: at(70_000),
      });
      // The old welcome's end, told late, does not end the new hold.
      await holds.settled(["n_w1"], at(61_000));
      expect((await holds.get("a:h1"))?.until).toBe(at(70_000));
    });

    it("stored names the welcome of a live hold only once; cancel ends only the hold it names", async () => {
      await holds.expect("a:h2", at(0), at(10_000));
      await holds.stored("a:h2", "n_first", at(10));
      await holds.stored("a:h2", "n_second", at(20));
      expect((await holds.get("a:h2"))?.notificationId).toBe("n_first");
      await holds.cancel("a:h2", at(-5), at(30)); // another hold's time: nothing
      expect((await holds.get("a:h2"))?.until).toBe(at(10_000));
      await holds.cancel("a:h2", at(0), at(40));
      expect((await holds.get("a:h2"))?.until).toBe(at(40));
      // An ended hold is never moved later, nor named.
      await holds.cancel("a:h2", at(0), at(9_000));
      await holds.settled(["n_first"], at(9_000));
      await holds.stored("a:h2", "n_third", at(9_000));
      expect(await holds.get("a:h2")).toEqual({ conversationId: "a:h2", askedAt: at(0), notificationId: "n_first", until: at(40) });
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
