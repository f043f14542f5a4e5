import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { DeliveryError } from "../../src/delivery/errors.js";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";
import { addsUp, admin, finished, type Harness, request, startHarness } from "./helpers/harness.js";

/** Idempotency, edit, recall, an outage mid-broadcast and schedules, on both stores. */
forEachStore((stores) => {
  let store: Store;
  let h: Harness;
  const conv = (i: number) => h.emulator.org.personalConversationId(i);
  const lastText = (i: number): string | undefined => {
    const list = h.emulator.context.messages.list(conv(i));
    const live = list.filter((m) => m.deletedAt === undefined).at(-1);
    if (!live) return undefined;
    const a = JSON.parse(live.activity) as { text?: string };
    return a.text;
  };
  const faults = (body?: unknown) =>
    fetch(`${h.emulator.url}/_emulator/faults`, {
      method: body ? "PUT" : "DELETE",
      headers: { "content-type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });

  beforeAll(async () => {
    store = await stores.open();
    h = await startHarness(store, { emulator: { org: { users: 400 } } });
    await h.seedUsers(Array.from({ length: 400 }, (_, i) => i));
  });
  afterAll(async () => {
    await h.close();
  });
  afterEach(async () => {
    await faults();
  });

  it("idempotency: the same key returns the same notification and never sends twice; another body with it is refused", async () => {
    const req = request({ conversations: [conv(0), conv(1)] }, { text: "once" }, { idempotencyKey: "order-42" });
    const results = await Promise.all([1, 2, 3].map(() => h.engine.submit(req, admin)));
    const ids = new Set(results.map((r) => r.notification.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const id = results[0]!.notification.id;
    await h.waitFor(id, finished);
    const again = await h.engine.submit(req, admin);
    expect(again).toMatchObject({ created: false, notification: { id } });
    await new Promise((r) => setTimeout(r, 200));
    expect(h.received(0).received).toBe(1);
    expect(h.received(1).received).toBe(1);
    await expect(h.engine.submit({ ...req, message: { text: "twice" } }, admin)).rejects.toMatchObject({
      code: "HERALD_E_IDEMPOTENCY_CONFLICT",
      status: 409,
    });
    // Keys are per API key: another caller with the same key gets its own notification.
    const other = await h.engine.submit(req, { keyId: "another-key" });
    expect(other.created).toBe(true);
    expect(other.notification.id).not.toBe(id);
  });

  it("edit updates every sent copy in place, with visible progress; recall deletes them", async () => {
    const users = [10, 11, 12, 13, 14];
    const { notification } = await h.engine.submit(request({ conversations: users.map(conv) }, { text: "v1 for ${givenName}" }), admin);
    await h.waitFor(notification.id, finished);
    const edited = await h.engine.edit(notification.id, { text: "v2 for ${givenName}" });
    expect(edited.messageVersion).toBe(2);
    expect(edited.edit.pending).toBe(5);
    const afterEdit = await h.waitFor(notification.id, (n) => finished(n) && n.edit.done === 5);
    expect(afterEdit.edit).toEqual({ pending: 0, done: 5, failed: 0 });
    for (const i of users) {
      expect(h.received(i)).toMatchObject({ received: 1, updated: 1 });
      expect(lastText(i)).toBe(`v2 for ${h.emulator.org.user(i).givenName}`);
    }
    const recalled = await h.engine.recall(notification.id);
    expect(recalled.status).toBe("canceled");
    expect(recalled.recall.pending).toBe(5);
    const afterRecall = await h.waitFor(notification.id, (n) => finished(n) && n.recall.done === 5);
    expect(afterRecall.counts.sent).toBe(5);
    expect(addsUp(afterRecall)).toBe(true);
    for (const i of users) expect(h.received(i).deleted).toBe(1);
    const rows = await h.engine.deliveries(notification.id, {}, { limit: 10 });
    expect(rows.items.every((r) => r.recall === "done" && r.appliedVersion === 2)).toBe(true);
    await expect(h.engine.edit(notification.id, { text: "v3" })).rejects.toBeInstanceOf(DeliveryError);
    // Recalling twice changes nothing.
    const twice = await h.engine.recall(notification.id);
    expect(twice.recall).toEqual(afterRecall.recall);
  });

  it("an edit during a broadcast: copies already sent are updated, the rest go out with the new text", async () => {
    const users = Array.from({ length: 60 }, (_, k) => 100 + k);
    // Slow answers keep the broadcast going long enough to edit it halfway.
    await faults({ slow: 0.5, slowMs: 30 });
    const { notification } = await h.engine.submit(request({ conversations: users.map(conv) }, { text: "first" }), admin);
    await h.waitFor(notification.id, (n) => n.counts.sent >= 5, 10_000);
    await h.engine.edit(notification.id, { text: "second" });
    const done = await h.waitFor(notification.id, (n) => finished(n) && n.counts.sent === 60, 20_000);
    expect(done.edit.failed).toBe(0);
    // Some copies were sent as "first" and updated; the others went out as "second" directly.
    expect(done.edit.done).toBeGreaterThan(0);
    expect(done.edit.done).toBeLessThan(60);
    for (const i of users) {
      expect(h.received(i).received).toBe(1);
      expect(lastText(i)).toBe("second");
    }
  });

  it("a recall during a broadcast cancels what is not sent and deletes what was; counts add up", async () => {
    const users = Array.from({ length: 200 }, (_, k) => 200 + k);
    await faults({ slow: 0.5, slowMs: 30 });
    const { notification } = await h.engine.submit(request({ conversations: users.map(conv) }, { text: "oops" }), admin);
    await h.waitFor(notification.id, (n) => n.counts.sent >= 10, 10_000);
    await h.engine.recall(notification.id);
    const done = await h.waitFor(notification.id, finished, 20_000);
    expect(done.status).toBe("canceled");
    expect(done.counts.canceled).toBeGreaterThan(0);
    expect(done.counts.sent + done.counts.canceled).toBe(200);
    expect(done.recall.done).toBe(done.counts.sent);
    expect(addsUp(done)).toBe(true);
    for (const i of users) {
      const c = h.received(i);
      expect(c.deleted).toBe(c.received);
    }
  });

  it("an outage that starts and ends mid-broadcast: everyone gets the message exactly once, nothing fails", async () => {
    const users = Array.from({ length: 150 }, (_, k) => 20 + k);
    const before = users.map((i) => h.received(i).received);
    await faults({ slow: 1, slowMs: 10 });
    const { notification } = await h.engine.submit(request({ conversations: users.map(conv) }, { text: "through the storm" }), admin);
    await h.waitFor(notification.id, (n) => n.counts.sent >= 20, 10_000);
    // Answered failures only: a reset after the request was written may have delivered, so it ends
    // `unknown` rather than being retried (once.test.ts).
    await faults({ status503: 0.5, status502: 0.25, status504: 0.25 });
    await new Promise((r) => setTimeout(r, 600));
    await faults();
    const done = await h.waitFor(notification.id, finished, 30_000);
    expect(done.counts.sent).toBe(150);
    expect(done.counts.failed).toBe(0);
    for (const [k, i] of users.entries()) expect(h.received(i).received).toBe(before[k]! + 1);
    const retried = (await h.engine.deliveries(notification.id, {}, { limit: 1000 })).items.filter((d) => d.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);
  });

  it("a scheduled notification waits for its time, then goes", async () => {
    const at = new Date(Date.now() + 1_200).toISOString();
    const { notification } = await h.engine.submit(request({ conversations: [conv(390)] }, { text: "later" }, { schedule: { at } }), admin);
    expect(notification.status).toBe("scheduled");
    expect(notification.scheduledAt).toBe(at);
    await new Promise((r) => setTimeout(r, 500));
    expect(h.received(390).received).toBe(0);
    const done = await h.waitFor(notification.id, finished, 10_000);
    expect(done.status).toBe("completed");
    expect(h.received(390).received).toBe(1);
    expect(Date.parse(done.startedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(at));
  });
});
