import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Delivery } from "../../src/delivery/model.js";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory, forEachStore, type StoreFactory } from "../helpers/stores.js";
import { admin, emulatorControl, finished, type Harness, request, startHarness } from "./helpers/harness.js";

/**
 * Exactly once means exactly once: a send whose request may have reached Teams (written, then the
 * connection reset or the answer came too late) is never sent again under the default
 * HERALD_IN_FLIGHT_POLICY=unknown; it ends `unknown` and the person has the message once. With
 * `resend` it is retried (at least once: the duplicate shows in the emulator). A failure before the
 * request was written is retried and delivered once. Over real HTTP against the emulator.
 */

const control = (h: Harness, path: string, method: string, body?: unknown) => emulatorControl(h, method, path, body);

const rows = async (h: Harness, id: string): Promise<Delivery[]> => (await h.engine.deliveries(id, {}, { limit: 100 })).items;

async function poll(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not before the deadline: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

forEachStore((stores) => {
  describe("HERALD_IN_FLIGHT_POLICY=unknown (default)", () => {
    let store: Store;
    let h: Harness;
    const conv = (i: number) => h.emulator.org.personalConversationId(i);

    beforeAll(async () => {
      store = await stores.open();
      // The client gives up waiting for an answer after 300 ms; deliverLate answers after 3 s.
      h = await startHarness(store, {
        emulator: { org: { tenants: 1, users: 40, teams: 1 } },
        connectorHttp: { headersTimeoutMs: 300 },
      });
      await h.seedUsers(Array.from({ length: 20 }, (_, i) => i));
      await h.seedTeam(0);
    });
    afterAll(() => h.close());
    afterEach(() => control(h, "faults", "DELETE"));

    it("delivered, then the connection reset: unknown, the person has the message once", async () => {
      await control(h, "faults", "PUT", { deliverReset: 1 });
      const before = h.received(1).received;
      const { notification } = await h.engine.submit(request({ conversations: [conv(1)] }), admin);
      const done = await h.waitFor(notification.id, finished);
      expect(done.counts).toMatchObject({ unknown: 1, sent: 0, pending: 0 });
      expect((await rows(h, notification.id))[0]).toMatchObject({ status: "unknown", lastErrorCode: "network/reset", attempts: 1 });
      expect(h.received(1).received).toBe(before + 1);
      expect(h.stats()["faultDeliverReset"]).toBe(1);
      // Counted as its own outcome (herald_deliveries_total{outcome="unknown"}), not as failed.
      expect(h.engine.stats()).toMatchObject({ unknown: 1, failed: 0 });
    });

    it("delivered, then answered after the client's timeout: unknown, the person has the message once", async () => {
      await control(h, "faults", "PUT", { deliverLate: 1, deliverLateMs: 3_000 });
      const before = h.received(2).received;
      const { notification } = await h.engine.submit(request({ conversations: [conv(2)] }), admin);
      const done = await h.waitFor(notification.id, finished);
      expect(done.counts).toMatchObject({ unknown: 1, sent: 0 });
      const row = (await rows(h, notification.id))[0]!;
      expect(row).toMatchObject({ status: "unknown", lastErrorCode: "network/timeout", attempts: 1 });
      expect(row.lastErrorMessage).toMatch(/may have received/);
      expect(h.received(2).received).toBe(before + 1);
    });

    it("a channel post whose create-conversation answer is lost: unknown, the channel has one thread", async () => {
      await control(h, "faults", "PUT", { deliverReset: 1 });
      const team = h.emulator.org.teams[0]!.id;
      const before = h.emulator.context.counts.get(team).received;
      const { notification } = await h.engine.submit(request({ channels: [team] }), admin);
      const done = await h.waitFor(notification.id, finished);
      expect(done.counts).toMatchObject({ unknown: 1, sent: 0 });
      expect(h.emulator.context.counts.get(team).received).toBe(before + 1);
    });

    it("a chat created for a user without one is retried after a lost answer (a 1:1 create is idempotent)", async () => {
      // Only the first request fails: the create. It is repeated; the send then goes once.
      const user = h.emulator.org.user(30);
      const creates = h.stats()["creates"]!;
      const lost = h.stats()["faultDeliverReset"]!;
      await control(h, "faults", "PUT", { deliverReset: 1 });
      const { notification } = await h.engine.submit(request({ users: [user.id], tenantId: user.tenantId }), admin);
      await poll("the create's answer was lost", () => h.stats()["faultDeliverReset"]! > lost);
      await control(h, "faults", "DELETE");
      const done = await h.waitFor(notification.id, finished);
      expect(done.counts).toMatchObject({ sent: 1 });
      expect(h.stats()["creates"]!).toBeGreaterThanOrEqual(creates + 2);
      expect(h.received(30).received).toBe(1);
    });

    it("a failure before the request was written (nothing listening) is retried and delivered once", async () => {
      // The row's serviceUrl points at a port where nothing listens yet; a forwarder opens it later.
      const probe = createServer();
      await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
      const port = (probe.address() as AddressInfo).port;
      await new Promise<void>((r) => probe.close(() => r()));
      const emu = new URL(h.emulator.connectorUrl);
      const u = h.emulator.org.user(5);
      await store.conversations.upsert({
        id: conv(5),
        kind: "personal",
        tenantId: u.tenantId,
        serviceUrl: `http://127.0.0.1:${port}${emu.pathname}`,
        channelId: "msteams",
        bot: { id: `28:${h.emulator.appId}` },
        user: { id: u.id, name: u.name, aadObjectId: u.aadObjectId },
        at: new Date().toISOString(),
        status: "active",
      });
      const before = h.received(5).received;
      const { notification } = await h.engine.submit(request({ conversations: [conv(5)] }), admin);
      await poll("the first attempt was refused", async () => (await rows(h, notification.id))[0]?.lastErrorCode === "network/refused");
      const sockets = new Set<Socket>();
      const forwarder: Server = createServer((client) => {
        const target = connect(Number(emu.port), "127.0.0.1", () => {
          client.pipe(target).pipe(client);
        });
        sockets.add(client).add(target);
        client.on("error", () => target.destroy());
        target.on("error", () => client.destroy());
      });
      await new Promise<void>((r) => forwarder.listen(port, "127.0.0.1", r));
      try {
        const done = await h.waitFor(notification.id, finished);
        expect(done.counts).toMatchObject({ sent: 1, unknown: 0 });
        expect(h.received(5).received).toBe(before + 1);
      } finally {
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => forwarder.close(() => r()));
      }
    });

    it("a reset with nothing delivered looks the same to Herald: unknown, and the person has nothing (at most once)", async () => {
      await control(h, "faults", "PUT", { reset: 1 });
      const before = h.received(3).received;
      const { notification } = await h.engine.submit(request({ conversations: [conv(3)] }), admin);
      const done = await h.waitFor(notification.id, finished);
      expect(done.counts).toMatchObject({ unknown: 1 });
      expect(h.received(3).received).toBe(before);
    });
  });

  describe("HERALD_IN_FLIGHT_POLICY=resend", () => {
    let other: StoreFactory;
    let h: Harness;
    const conv = (i: number) => h.emulator.org.personalConversationId(i);

    beforeAll(async () => {
      other = createStoreFactory(stores.name);
      // The first retry comes 0.5-1 s later: time to end the fault after the first attempt.
      h = await startHarness(await other.open(), {
        emulator: { org: { tenants: 1, users: 20 } },
        config: { inFlightPolicy: "resend", retry: { maxAttempts: 8, maxTotalMs: 60_000, baseMs: 1_000, capMs: 2_000 } },
      });
      await h.seedUsers(Array.from({ length: 10 }, (_, i) => i));
    });
    afterAll(async () => {
      await h.close();
      await other.cleanup();
    });
    afterEach(() => control(h, "faults", "DELETE"));

    it("delivered, then the connection reset: retried and sent; the duplicate is visible (at least once)", async () => {
      await control(h, "faults", "PUT", { deliverReset: 1 });
      const { notification } = await h.engine.submit(request({ conversations: [conv(1)] }), admin);
      await poll("the first attempt's answer was lost", () => h.stats()["faultDeliverReset"]! >= 1);
      await control(h, "faults", "DELETE");
      const done = await h.waitFor(notification.id, finished);
      expect(done.counts).toMatchObject({ sent: 1, unknown: 0 });
      expect((await rows(h, notification.id))[0]).toMatchObject({ status: "sent", attempts: 2 });
      expect(h.received(1).received).toBe(2);
    });

    it("a reset before delivery is retried and delivered once", async () => {
      await control(h, "faults", "PUT", { reset: 1 });
      const { notification } = await h.engine.submit(request({ conversations: [conv(2)] }), admin);
      await poll("the first attempt was reset", () => h.stats()["faultReset"]! >= 1);
      await control(h, "faults", "DELETE");
      const done = await h.waitFor(notification.id, finished);
      expect(done.counts).toMatchObject({ sent: 1 });
      expect(h.received(2).received).toBe(1);
    });
  });
});
