import { afterAll, beforeAll, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";
import { addsUp, admin, finished, type Harness, request, startHarness } from "./helpers/harness.js";

/**
 * One person named twice (Teams id and Entra object id), their chat stored only AFTER the
 * notification was accepted (they installed the app or wrote to the bot in between): the two rows
 * must not each find the other as "the one that sends" and both end canceled (found by review).
 */
forEachStore((stores) => {
  let store: Store;
  let h: Harness;
  beforeAll(async () => {
    store = await stores.open();
    h = await startHarness(store, { emulator: { org: { tenants: 1, users: 40 } }, start: false });
  });
  afterAll(() => h.close());

  const storeChat = async (i: number) => {
    const u = h.emulator.org.user(i);
    await store.conversations.upsert({
      id: h.emulator.org.personalConversationId(i),
      kind: "personal",
      tenantId: u.tenantId,
      serviceUrl: h.emulator.connectorUrl,
      channelId: "msteams",
      bot: { id: `28:${h.emulator.appId}` },
      user: { id: u.id, name: u.name, aadObjectId: u.aadObjectId },
      at: new Date().toISOString(),
      status: "active",
    });
  };

  it("store level: of two rows of one person whose chat was stored after submit, the first to claim the chat wins", async () => {
    const u = h.emulator.org.user(7);
    const { notification } = await h.engine.submit(request({ users: [u.id, u.aadObjectId], tenantId: u.tenantId }), admin);
    // The user installs the app / writes to the bot after the notification was accepted.
    await storeChat(7);
    const rows = (await h.engine.deliveries(notification.id, {}, { limit: 10 })).items;
    expect(rows.map((r) => r.kind)).toEqual(["user", "user"]);
    const chat = { conversationId: h.emulator.org.personalConversationId(7), serviceUrl: h.emulator.connectorUrl };
    const a = await store.deliveries.claimChat("w", { notificationId: notification.id, seq: rows[0]!.seq, lease: 0 }, chat, Date.now());
    const b = await store.deliveries.claimChat("w", { notificationId: notification.id, seq: rows[1]!.seq, lease: 0 }, chat, Date.now());
    // At least one of them must win.
    expect(a.duplicateOf === undefined || b.duplicateOf === undefined).toBe(true);
  });

  it("engine: the person named twice, chat stored after submit, gets the message once (not zero)", async () => {
    const people = Array.from({ length: 8 }, (_, k) => 10 + k);
    const users = people.flatMap((i) => [h.emulator.org.user(i).id, h.emulator.org.user(i).aadObjectId]);
    const { notification } = await h.engine.submit(request({ users, tenantId: h.emulator.org.user(10).tenantId }), admin);
    for (const i of people) await storeChat(i);
    await h.engine.start();
    const done = await h.waitFor(notification.id, finished);
    expect(addsUp(done)).toBe(true);
    for (const i of people) expect(h.received(i).received).toBe(1);
  });
});
