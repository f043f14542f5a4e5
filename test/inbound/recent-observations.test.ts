import { beforeAll, describe, expect, it } from "vitest";
import { RecentObservations } from "../../src/inbound/recent-observations.js";
import type { ConversationObservation, ConversationStore, Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";

// The cheap conversation upsert of repeated observations (bench/invokes.js: a vote flood) must
// leave the store as the full upsert would, but for `lastActivityAt` lagging at most the window in
// channels.
const t0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

function personal(id: string, at: number, name = "Ada"): ConversationObservation {
  return {
    id,
    kind: "personal",
    tenantId: "tenant-1",
    serviceUrl: "https://smba.example/teams/",
    channelId: "msteams",
    bot: { id: "28:bot" },
    user: { id: `29:${id}`, name },
    at: iso(at),
    status: "active",
    statusCode: "user:cardAction",
  };
}

function channel(id: string, at: number): ConversationObservation {
  return {
    id,
    kind: "channel",
    tenantId: "tenant-1",
    serviceUrl: "https://smba.example/teams/",
    channelId: "msteams",
    bot: { id: "28:bot" },
    team: { id: "team-1", name: "Team" },
    channel: { id },
    at: iso(at),
    status: "active",
    statusCode: "user:cardAction",
  };
}

/** The store's conversations, counting the statements the cache lets through. */
function counted(store: ConversationStore) {
  const calls = { upsert: 0, touch: 0 };
  const wrapped: Pick<ConversationStore, "upsert" | "touch"> = {
    upsert: (o) => {
      calls.upsert++;
      return store.upsert(o);
    },
    touch: (id, at, status) => {
      calls.touch++;
      return store.touch ? store.touch(id, at, status) : Promise.resolve(false);
    },
  };
  return { calls, wrapped };
}

forEachStore((stores) => {
  let store: Store;
  beforeAll(async () => {
    store = await stores.open();
  });

  describe("RecentObservations", () => {
    it("a user acting in a chat another writer marked blocked reactivates it (the cheap UPDATE is guarded by the status)", async () => {
      const { calls, wrapped } = counted(store.conversations);
      const recent = new RecentObservations(wrapped);
      await recent.record(personal("a:blocked", t0));
      await store.conversations.setStatus("a:blocked", "blocked", "MessageWritesBlocked", iso(t0 + 50));
      const again = await recent.record(personal("a:blocked", t0 + 100));
      expect(again.activated).toBe(true);
      expect((await store.conversations.get("a:blocked"))?.status).toBe("active");
      expect(calls).toEqual({ upsert: 2, touch: 1 });
    });

    it("a repeated personal observation is one guarded UPDATE that moves lastActivityAt, never backwards", async () => {
      const { calls, wrapped } = counted(store.conversations);
      const recent = new RecentObservations(wrapped);
      await recent.record(personal("a:repeat", t0));
      const r = await recent.record(personal("a:repeat", t0 + 200));
      expect(r.record.lastActivityAt).toBe(iso(t0 + 200));
      expect(calls).toEqual({ upsert: 1, touch: 1 });
      expect((await store.conversations.get("a:repeat"))?.lastActivityAt).toBe(iso(t0 + 200));
      await recent.record(personal("a:repeat", t0 + 100)); // processed late
      expect((await store.conversations.get("a:repeat"))?.lastActivityAt).toBe(iso(t0 + 200));
    });

    it("a changed observation (a new name) runs the full upsert", async () => {
      const { calls, wrapped } = counted(store.conversations);
      const recent = new RecentObservations(wrapped);
      await recent.record(personal("a:renamed", t0));
      await recent.record(personal("a:renamed", t0 + 100, "Ada Lovelace"));
      expect(calls).toEqual({ upsert: 2, touch: 0 });
      expect((await store.conversations.get("a:renamed"))?.user?.name).toBe("Ada Lovelace");
    });

    it("in a channel, repeats within the window write nothing; after it, lastActivityAt catches up", async () => {
      const { calls, wrapped } = counted(store.conversations);
      const recent = new RecentObservations(wrapped, 100, 1_000);
      await recent.record(channel("19:flood@thread.tacv2", t0));
      for (let i = 1; i <= 9; i++) await recent.record(channel("19:flood@thread.tacv2", t0 + i * 100));
      expect(calls).toEqual({ upsert: 1, touch: 0 });
      await recent.record(channel("19:flood@thread.tacv2", t0 + 1_000));
      expect(calls).toEqual({ upsert: 1, touch: 1 });
      expect((await store.conversations.get("19:flood@thread.tacv2"))?.lastActivityAt).toBe(iso(t0 + 1_000));
    });

    it("in a channel, a burst of the same observation arriving at once is one write", async () => {
      const { calls, wrapped } = counted(store.conversations);
      const recent = new RecentObservations(wrapped);
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => recent.record(channel("19:burst@thread.tacv2", t0 + i))));
      expect(calls).toEqual({ upsert: 1, touch: 0 });
      expect(results.filter((r) => r.activated)).toHaveLength(1);
      expect((await store.conversations.get("19:burst@thread.tacv2"))?.status).toBe("active");
    });

    it("is bounded: past maxEntries the oldest conversation is forgotten (full upsert again)", async () => {
      const { calls, wrapped } = counted(store.conversations);
      const recent = new RecentObservations(wrapped, 2);
      await recent.record(personal("b:1", t0));
      await recent.record(personal("b:2", t0));
      await recent.record(personal("b:3", t0));
      await recent.record(personal("b:1", t0 + 100));
      expect(calls).toEqual({ upsert: 4, touch: 0 });
    });
  });
});
