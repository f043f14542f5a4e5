import { afterAll, beforeAll, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";
import { addsUp, admin, finished, type Harness, request, startHarness } from "./helpers/harness.js";

/**
 * One person, one message per notification: a user named in `users` by their Teams id (`29:`) and
 * by their Entra object id (in any letter case) gets the message once, whether Herald has their
 * chat stored or creates it at send time. Over real HTTP against the emulator.
 */
forEachStore((stores) => {
  let store: Store;
  let h: Harness;

  beforeAll(async () => {
    store = await stores.open();
    h = await startHarness(store, { emulator: { org: { tenants: 1, users: 40 } } });
    await h.seedUsers([0, 1, 2]);
  });
  afterAll(() => h.close());

  const rows = async (id: string) => (await h.engine.deliveries(id, {}, { limit: 100 })).items;

  it("a stored chat: the Teams id and the Entra object id (another letter case too) are one recipient", async () => {
    const u = h.emulator.org.user(1);
    const aad = u.aadObjectId;
    const { notification } = await h.engine.submit(
      request({ users: [u.id, aad, aad.toUpperCase()], tenantId: u.tenantId }, { text: "once" }),
      admin,
    );
    const done = await h.waitFor(notification.id, finished);
    expect(done.total).toBe(1);
    expect(done.counts.sent).toBe(1);
    expect(h.received(1).received).toBe(1);
  });

  it("no stored chat: both rows create the same chat, only one sends; the other ends canceled as a duplicate", async () => {
    const u = h.emulator.org.user(20);
    const { notification } = await h.engine.submit(
      request({ users: [u.id, u.aadObjectId], tenantId: u.tenantId }, { text: "once" }),
      admin,
    );
    const done = await h.waitFor(notification.id, finished);
    expect(done.total).toBe(2);
    expect(done.counts).toMatchObject({ sent: 1, canceled: 1 });
    expect(addsUp(done)).toBe(true);
    expect(h.received(20).received).toBe(1);
    const dup = (await rows(notification.id)).find((r) => r.status === "canceled");
    expect(dup).toMatchObject({ lastErrorCode: "HERALD_E_DUPLICATE_RECIPIENT", conversationId: h.emulator.org.personalConversationId(20) });
    expect(dup?.lastErrorMessage).toMatch(/same person as delivery \d+/);
  });

  it("a stored chat that lacks the Entra object id: the row created for the object id ends as a duplicate", async () => {
    const u = h.emulator.org.user(3);
    await store.conversations.upsert({
      id: h.emulator.org.personalConversationId(3),
      kind: "personal",
      tenantId: u.tenantId,
      serviceUrl: h.emulator.connectorUrl,
      channelId: "msteams",
      bot: { id: `28:${h.emulator.appId}` },
      user: { id: u.id, name: u.name },
      at: new Date().toISOString(),
      status: "active",
    });
    const { notification } = await h.engine.submit(
      request({ users: [u.id, u.aadObjectId], tenantId: u.tenantId }, { text: "once" }),
      admin,
    );
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts).toMatchObject({ sent: 1, canceled: 1 });
    expect(h.received(3).received).toBe(1);
  });

  it("no stored chat: the same Entra object id in two letter cases is one recipient", async () => {
    const u = h.emulator.org.user(21);
    const aad = u.aadObjectId;
    const { notification } = await h.engine.submit(
      request({ users: [aad.toUpperCase(), aad], tenantId: u.tenantId }, { text: "once" }),
      admin,
    );
    const done = await h.waitFor(notification.id, finished);
    expect(done.total).toBe(1);
    expect(done.counts.sent).toBe(1);
    expect(h.received(21).received).toBe(1);
  });

  it("many people, each named twice, none stored: everyone gets exactly one message", async () => {
    const people = Array.from({ length: 10 }, (_, k) => 25 + k);
    const users = people.flatMap((i) => [h.emulator.org.user(i).id, h.emulator.org.user(i).aadObjectId]);
    const { notification } = await h.engine.submit(request({ users, tenantId: h.emulator.org.user(25).tenantId }, { text: "once" }), admin);
    const done = await h.waitFor(notification.id, finished);
    expect(done.counts.sent).toBe(10);
    expect(done.counts.canceled).toBe(done.total - 10);
    for (const i of people) expect(h.received(i).received).toBe(1);
  });
});
