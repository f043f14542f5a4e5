import { afterAll, beforeAll, expect, it } from "vitest";
import type { DeliveryEngine } from "../../src/delivery/engine.js";
import type { Notification } from "../../src/delivery/model.js";
import type { NotificationRequest } from "../../src/delivery/request.js";
import { UserFlag } from "../../src/emulator/org/model.js";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const admin = { keyId: "test-admin" } as const;
const finished = (n: Notification): boolean => !n.active;

/**
 * The batch path against the emulator over HTTP, on both stores: every recipient gets the
 * message once and every row ends with its own outcome; failed entries land on their rows;
 * a throttled submit waits for Retry-After; a restart polls the stored operation again.
 */
forEachStore((stores) => {
  let store: Store;
  let h: BatchHarness;
  let engine: DeliveryEngine;
  const USERS = 600;
  const user = (i: number) => h.emulator.org.user(i);
  const flags = (i: number) => h.emulator.context.state.userFlags[i] ?? 0;
  const batchOf = (users: number[], text: string): NotificationRequest => ({
    audience: { users: users.map((i) => user(i).id), tenantId: user(users[0]!).tenantId },
    message: { text },
    delivery: { mode: "batch" },
  });

  beforeAll(async () => {
    store = await stores.open();
    h = await startBatchHarness(store, { org: { users: USERS, tenants: 1, blockedShare: 0.05, uninstalledShare: 0.05 } });
    await h.seedUsers(Array.from({ length: USERS }, (_, i) => i));
    engine = await h.engine({ batch: { size: 100 } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("a batch broadcast reaches each recipient once through a few operations; rows end sent without activity ids, and say so", async () => {
    const users = Array.from({ length: 250 }, (_, i) => i).filter((i) => flags(i) === 0);
    const ops = h.counter("batchOperations");
    const sends = h.counter("sends");
    const { notification } = await engine.submit(batchOf(users, "batch hello"), admin);
    const done = await h.waitFor(engine, notification.id, finished);
    expect(done.counts.sent).toBe(users.length);
    expect(done.status).toBe("completed");
    // 100 per request: three operations, not one request per user.
    expect(h.counter("batchOperations") - ops).toBe(Math.ceil(users.length / 100));
    expect(h.counter("sends") - sends).toBe(users.length);
    for (const i of users) expect(h.emulator.context.counts.get(i).received).toBe(1);
    const rows = await h.rows(engine, notification.id);
    expect(rows).toHaveLength(users.length);
    for (const r of rows) {
      expect(r.status).toBe("sent");
      expect(r.activityId).toBeUndefined();
      expect(r.lastErrorCode).toBe("batch/sent");
      expect(r.lastErrorMessage).toMatch(/no activity id/);
    }
    // Edit and recall need activity ids: refused, saying why.
    await expect(engine.edit(notification.id, { text: "v2" })).rejects.toMatchObject({
      code: "HERALD_E_BATCH_NO_ACTIVITY_IDS",
      status: 409,
    });
    // A recall cannot delete them either: it says so, and changes nothing (test/batch/cancel.test.ts).
    const recalled = await engine.recall(notification.id);
    expect(recalled.batch).toMatchObject({ notRecallable: users.length, operationsCanceled: 0 });
    expect(recalled.counts.sent).toBe(users.length);
  });

  it("rows a batch cannot name (a channel conversation) go one by one after the batch, with an activity id", async () => {
    await h.seedTeam(0);
    const team = h.emulator.org.teams[0]!;
    const users = Array.from({ length: 20 }, (_, i) => 260 + i).filter((i) => flags(i) === 0);
    const ops = h.counter("batchOperations");
    const before = h.emulator.context.counts.get(team.id).received;
    const { notification } = await engine.submit(
      {
        audience: { conversations: [...users.map((i) => h.emulator.org.personalConversationId(i)), team.id] },
        message: { text: "mixed" },
        delivery: { mode: "batch" },
      },
      admin,
    );
    const done = await h.waitFor(engine, notification.id, finished);
    expect(done.counts.sent).toBe(users.length + 1);
    expect(h.counter("batchOperations") - ops).toBe(1);
    expect(h.emulator.context.counts.get(team.id).received - before).toBe(1);
    const rows = await h.rows(engine, notification.id);
    const channel = rows.find((r) => r.conversationId === team.id);
    expect(channel?.activityId).toBeDefined();
    expect(rows.filter((r) => r.lastErrorCode === "batch/sent")).toHaveLength(users.length);
  });

  it("failed entries land on their own rows: blocked users end blocked, uninstalled ones notFound, the rest sent", async () => {
    const users = Array.from({ length: 300 }, (_, i) => 300 + i);
    const blocked = users.filter((i) => flags(i) & UserFlag.blocked);
    const gone = users.filter((i) => flags(i) === UserFlag.uninstalled);
    expect(blocked.length).toBeGreaterThan(0);
    expect(gone.length).toBeGreaterThan(0);
    const { notification } = await engine.submit(batchOf(users, "with failures"), admin);
    const done = await h.waitFor(engine, notification.id, finished);
    expect(done.counts).toMatchObject({
      sent: users.length - blocked.length - gone.length,
      blocked: blocked.length,
      notFound: gone.length,
      pending: 0,
    });
    const rows = new Map((await h.rows(engine, notification.id)).map((r) => [r.conversationId, r]));
    const row = (i: number) => rows.get(h.emulator.org.personalConversationId(i));
    for (const i of blocked) expect(row(i)).toMatchObject({ status: "blocked", lastErrorCode: "403/MessageWritesBlocked" });
    for (const i of gone) expect(row(i)?.status).toBe("notFound");
    // As after a single send's 403: the stored conversations say so, and later notifications skip them.
    for (const i of blocked) expect((await store.conversations.get(h.emulator.org.personalConversationId(i)))?.status).toBe("blocked");
    for (const i of gone) expect((await store.conversations.get(h.emulator.org.personalConversationId(i)))?.status).toBe("uninstalled");
    for (const i of users.filter((k) => flags(k) === 0)) {
      expect(row(i)?.status).toBe("sent");
      expect(h.emulator.context.counts.get(i).received).toBe(1);
    }
  });
});
