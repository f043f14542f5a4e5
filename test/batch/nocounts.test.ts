import { afterEach, expect, it } from "vitest";
import type { Notification } from "../../src/delivery/model.js";
import type { NotificationRequest } from "../../src/delivery/request.js";
import { UserFlag } from "../../src/emulator/org/model.js";
import { forEachStore } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const admin = { keyId: "test-admin" } as const;
const finished = (n: Notification): boolean => !n.active;

/**
 * An operation whose state answer carries no status counts (`statusMap: {}`, which the protocol
 * allows), on both stores, against the emulator over HTTP: Herald reads its failed entries (every
 * page) whatever the state, the rows they name end with their error, and no other row claims
 * what Herald cannot confirm: not `sent` for a completed operation (`batch/unconfirmed`), not
 * `canceled` for one canceled after a recall that Teams had partly sent (`unknown`).
 */
forEachStore((stores) => {
  let h: BatchHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const USERS = 20;
  const users = Array.from({ length: USERS }, (_, i) => i);
  const setup = async () => {
    const store = await stores.open();
    const hh = await startBatchHarness(store, { org: { users: USERS, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    h = hh;
    await hh.seedUsers(users);
    hh.emulator.context.batches.stateWithoutCounts = true;
    return { hh, engine: await hh.engine() };
  };
  const batchOf = (hh: BatchHarness, text: string): NotificationRequest => ({
    audience: { users: users.map((i) => hh.emulator.org.user(i).id), tenantId: hh.emulator.org.user(0).tenantId },
    message: { text },
    delivery: { mode: "batch" },
  });
  const received = (hh: BatchHarness) => users.reduce((sum, i) => sum + hh.emulator.context.counts.get(i).received, 0);

  it("Completed without counts: failed entries are read and end their rows (blocked); the others end unknown (batch/unconfirmed), never sent", async () => {
    const { hh, engine } = await setup();
    const blocked = new Set([3, 7]);
    for (const i of blocked) hh.emulator.context.state.setFlag(i, UserFlag.blocked, true);
    const { notification } = await engine.submit(batchOf(hh, "no counts"), admin);
    const done = await hh.waitFor(engine, notification.id, finished);
    expect(hh.counter("batchOperations")).toBe(1);
    expect(done.counts).toMatchObject({ sent: 0, blocked: blocked.size, unknown: USERS - blocked.size });
    const byChat = new Map(users.map((i) => [hh.emulator.org.personalConversationId(i), i]));
    for (const r of await hh.rows(engine, notification.id)) {
      const i = byChat.get(r.conversationId ?? "");
      if (i !== undefined && blocked.has(i)) {
        expect(r).toMatchObject({ status: "blocked", lastErrorCode: "403/MessageWritesBlocked" });
        continue;
      }
      expect(r).toMatchObject({ status: "unknown", lastErrorCode: "batch/unconfirmed" });
      expect(r.lastErrorMessage).toMatch(/no status counts/);
    }
    // Teams did deliver to the others: Herald only declines to claim it.
    expect(received(hh)).toBe(USERS - blocked.size);
  });

  it("Canceled after a recall without counts, Teams having sent some copies: the rows end unknown, never canceled", async () => {
    const { hh, engine } = await setup();
    hh.emulator.context.batches.stallAfter = 3;
    const { notification } = await engine.submit(batchOf(hh, "recalled, no counts"), admin);
    const deadline = Date.now() + 20_000;
    while (received(hh) < 3 || (await hh.rows(engine, notification.id)).some((r) => r.lastErrorCode !== "batch/running")) {
      if (Date.now() > deadline) throw new Error("the operation never ran");
      await new Promise((r) => setTimeout(r, 100));
    }
    const recalled = await engine.recall(notification.id, admin);
    expect(recalled.batch).toMatchObject({ operationsCanceled: 1 });
    const done = await hh.waitFor(engine, notification.id, finished);
    expect(done.counts).toMatchObject({ canceled: 0, sent: 0, unknown: USERS });
    for (const r of await hh.rows(engine, notification.id)) {
      expect(r).toMatchObject({ status: "unknown", lastErrorCode: "batch/Canceled" });
      expect(r.lastErrorMessage).toMatch(/no status counts/);
    }
    expect(received(hh)).toBe(3);
  });
});
