import { describe, expect, it } from "vitest";
import { connector, control, start, token } from "./helpers.js";

describe("bounded memory", () => {
  it("generates 1,000,000 users instantly and serves them with a modest heap", async () => {
    const used = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers; // typed arrays (per-user state) live outside the JS heap
    };
    const before = used();
    const t0 = Date.now();
    const emu = await start({
      limits: false,
      org: { users: 1_000_000, tenants: 3, teams: 30, blockedShare: 0.02, uninstalledShare: 0.01 },
    });
    try {
      const startMs = Date.now() - t0;
      expect(startMs).toBeLessThan(5_000);
      const api = connector(emu, await token(emu));
      const last = emu.org.user(999_999);
      const created = await api.post("v3/conversations", { members: [{ id: last.id }], tenantId: last.tenantId });
      expect([201, 403]).toContain(created.status);
      const page = await api.get(`v3/conversations/${encodeURIComponent(emu.org.teams[0]!.id)}/pagedmembers?pageSize=500`);
      expect(page.json.members).toHaveLength(500);
      const users = await control(emu).get(`/users?tenantId=${emu.org.tenants[2]!.id}&cursor=333000&limit=1000`);
      expect(users.json.users).toHaveLength(333);
      const tenants = (await control(emu).get("/tenants")).json.tenants;
      expect(tenants.reduce((n: number, t: { users: number }) => n + t.users, 0)).toBe(1_000_000);
      expect(tenants[0].blocked).toBeGreaterThan(5_000);
      const growth = used() - before;
      // 1 byte of state per user plus keys and sockets: far below what a million objects would take.
      expect(growth).toBeLessThan(60 * 1024 * 1024);
    } finally {
      await emu.close();
    }
  });

  it("keeps message bodies within the global and per-conversation caps while counting everything", async () => {
    const emu = await start({ limits: false, messageCap: 100, conversationMessageCap: 10, org: { users: 50 } });
    try {
      const api = connector(emu, await token(emu));
      const conv = (u: number) => `v3/conversations/${emu.org.personalConversationId(u)}/activities`;
      for (let i = 0; i < 30; i++) await api.post(conv(0), { type: "message", text: `m${i}` });
      let stats = (await control(emu).get("/stats")).json;
      expect(stats.messages.kept).toBe(10);
      const kept = (await control(emu).get(`/conversations/${emu.org.personalConversationId(0)}/messages`)).json;
      expect(kept.messages.map((m: { activity: { text: string } }) => m.activity.text)).toEqual(
        Array.from({ length: 10 }, (_, i) => `m${20 + i}`),
      );
      expect(kept.counts.received).toBe(30);
      const batch = Array.from({ length: 400 }, (_, i) => api.post(conv(1 + (i % 49)), { type: "message", text: `b${i}` }));
      await Promise.all(batch);
      stats = (await control(emu).get("/stats")).json;
      expect(stats.messages.kept).toBe(100);
      expect(stats.global.sends).toBe(430);
      expect(emu.context.messages.size).toBe(100);
    } finally {
      await emu.close();
    }
  });
});

describe("watching conversations", () => {
  it("tells watchers of new, updated and deleted messages", async () => {
    const emu = await start({ limits: false, auth: false, org: { users: 5 } });
    try {
      const events: string[] = [];
      const stop = emu.context.messages.watch((e) =>
        events.push(`${e.kind}:${e.record.conversationId === emu.org.personalConversationId(0)}`),
      );
      const api = connector(emu);
      const conv = `v3/conversations/${emu.org.personalConversationId(0)}/activities`;
      const sent = await api.post(conv, { type: "message", text: "a" });
      await api.put(`${conv}/${sent.json.id}`, { type: "message", text: "b" });
      await api.del(`${conv}/${sent.json.id}`);
      stop();
      await api.post(conv, { type: "message", text: "unseen" });
      expect(events).toEqual(["add:true", "update:true", "delete:true"]);
    } finally {
      await emu.close();
    }
  });
});
