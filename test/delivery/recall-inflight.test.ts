import { afterEach, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import type { ConnectorClient } from "../../src/connector/client.js";
import type { Notification } from "../../src/delivery/model.js";
import { forEachStore } from "../helpers/stores.js";
import {
  admin,
  emulatorControl,
  finished,
  type Harness,
  type HarnessOptions,
  pollUntil,
  request,
  startHarness,
} from "./helpers/harness.js";

/**
 * Review: a recall racing the sends of one process under HERALD_IN_FLIGHT_POLICY=resend (the
 * crash case, another process taking over, is recall-crash.test.ts). A DELETE that lands while a
 * send is in flight, or while a send waits for its retry, never lets that message reach Teams
 * after the recall, and every row ends honestly: sent then deleted, or canceled if never made.
 */
const USERS = [0, 1, 2, 3];
/** The user the warm-up message goes to. */
const WARM = USERS.length;

/** Once armed, hold the answer (or the error) of every send until `open` resolves; counts the sends Teams answered meanwhile. */
function holdAnswers(open: Promise<void>) {
  const seen = { armed: false, answered: 0 };
  const wrap = (c: ConnectorClient): ConnectorClient =>
    new Proxy(c, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (prop !== "sendToConversation" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          const armed = seen.armed;
          try {
            return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          } finally {
            if (armed) {
              seen.answered++;
              await open;
            }
          }
        };
      },
    });
  return { seen, wrap };
}

forEachStore((stores) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const start = async (options: HarnessOptions, held?: { seen: { armed: boolean } }) => {
    const store = await stores.open();
    const hh = await startHarness(store, {
      ...options,
      emulator: { org: { tenants: 1, users: USERS.length + 1 } },
      config: { inFlightPolicy: "resend", ...options.config },
    });
    h = hh;
    await hh.seedUsers([...USERS, WARM]);
    // One message to another user first: the process's first send goes alone until answered
    // (warmup.ts) and proves the credentials (credentials.ts); the sends of the test then leave together.
    const tenantId = hh.emulator.org.user(0).tenantId;
    const warm = await hh.engine.submit(request({ users: [hh.emulator.org.user(WARM).id], tenantId }, { text: "warm-up" }), admin);
    await hh.waitFor(warm.notification.id, (n: Notification) => finished(n) && n.counts.sent === 1);
    if (held) held.seen.armed = true;
    return hh;
  };
  const broadcast = async (hh: Harness, text: string): Promise<string> => {
    const tenantId = hh.emulator.org.user(0).tenantId;
    const { notification } = await hh.engine.submit(
      request({ users: USERS.map((i) => hh.emulator.org.user(i).id), tenantId }, { text }),
      admin,
    );
    return notification.id;
  };
  const rowsOf = async (hh: Harness, id: string) => (await hh.store.deliveries.listDeliveries(id, {}, { limit: 100 })).items;

  it("a DELETE while the sends are in flight: their answers land after it, each copy is then deleted, none is sent again", async () => {
    let open!: () => void;
    const held = holdAnswers(new Promise<void>((r) => (open = r)));
    const hh = await start({ wrapConnector: held.wrap }, held);
    const id = await broadcast(hh, "in flight at the recall");
    await pollUntil(
      () => held.seen.answered,
      (n) => n === USERS.length,
      "every send answered by Teams",
    );
    const recalled = await hh.engine.recall(id, admin);
    // In flight: neither canceled nor yet to delete.
    expect(recalled).toMatchObject({ counts: { pending: USERS.length, canceled: 0 }, recall: { pending: 0 } });
    const atRecall = USERS.map((i) => hh.received(i).received);
    expect(atRecall).toEqual(USERS.map(() => 1));
    open();
    const done = await hh.waitFor(id, (n: Notification) => finished(n) && n.recall.done === USERS.length);
    expect(done).toMatchObject({ status: "canceled", counts: { sent: USERS.length, pending: 0 }, recall: { pending: 0, failed: 0 } });
    expect((await rowsOf(hh, id)).map((r) => [r.status, r.recall])).toEqual(USERS.map(() => ["sent", "done"]));
    expect(USERS.map((i) => hh.received(i))).toEqual(USERS.map(() => ({ received: 1, updated: 0, deleted: 1 })));
  });

  it("a DELETE while the sends are in flight, answered 503 after it: the retries are not made, the rows end canceled", async () => {
    let open!: () => void;
    const held = holdAnswers(new Promise<void>((r) => (open = r)));
    const hh = await start({ wrapConnector: held.wrap }, held);
    await emulatorControl(hh, "PUT", "faults", { status503: 1 });
    const id = await broadcast(hh, "refused, then recalled");
    await pollUntil(
      () => held.seen.answered,
      (n) => n === USERS.length,
      "every send answered 503",
    );
    const recalled = await hh.engine.recall(id, admin);
    expect(recalled).toMatchObject({ counts: { pending: USERS.length, canceled: 0 } });
    await emulatorControl(hh, "DELETE", "faults");
    open();
    const done = await hh.waitFor(id, finished);
    expect(done).toMatchObject({ status: "canceled", counts: { canceled: USERS.length, pending: 0, sent: 0 } });
    expect((await rowsOf(hh, id)).map((r) => [r.status, r.attempts, r.lastErrorCode?.split("/")[0]])).toEqual(
      USERS.map(() => ["canceled", 1, "503"]),
    );
    expect(USERS.map((i) => hh.received(i).received)).toEqual(USERS.map(() => 0));
  });

  it("a DELETE while the sends are in flight, which Teams did but whose answers never came (reset): the rows end unknown, not canceled, and are not sent again", async () => {
    let open!: () => void;
    const held = holdAnswers(new Promise<void>((r) => (open = r)));
    const hh = await start({ wrapConnector: held.wrap }, held);
    await emulatorControl(hh, "PUT", "faults", { deliverReset: 1 });
    const id = await broadcast(hh, "received, unanswered, recalled");
    await pollUntil(
      () => held.seen.answered,
      (n) => n === USERS.length,
      "every send reset after Teams did it",
    );
    const recalled = await hh.engine.recall(id, admin);
    expect(recalled).toMatchObject({ counts: { pending: USERS.length, canceled: 0 } });
    const atRecall = USERS.map((i) => hh.received(i).received);
    expect(atRecall).toEqual(USERS.map(() => 1));
    await emulatorControl(hh, "DELETE", "faults");
    open();
    const done = await hh.waitFor(id, finished);
    // Teams has them (no activity id came back, so the recall cannot delete them): unknown, never canceled.
    expect(done).toMatchObject({ status: "canceled", counts: { unknown: USERS.length, canceled: 0, pending: 0, sent: 0 } });
    const rows = await rowsOf(hh, id);
    expect(rows.map((r) => [r.status, r.lastErrorCode])).toEqual(USERS.map(() => ["unknown", "network/reset"]));
    for (const r of rows) expect(r.lastErrorMessage).toMatch(/recalled meanwhile.*cannot delete/);
    expect(USERS.map((i) => hh.received(i).received)).toEqual(atRecall);
  });

  it("a send waiting for its retry after a 503 when the DELETE lands is canceled and never sent, even once its retry time has passed", async () => {
    // The engine's clock, moved past every retry time after the recall.
    let skew = 0;
    const clock = { now: () => Date.now() + skew, sleep: systemClock.sleep };
    const hh = await start({ clock, config: { retry: { maxAttempts: 8, maxTotalMs: 3_600_000, baseMs: 600_000, capMs: 600_000 } } });
    await emulatorControl(hh, "PUT", "faults", { status503: 1, count: USERS.length });
    const id = await broadcast(hh, "to retry, then recalled");
    const waiting = await pollUntil(
      () => rowsOf(hh, id),
      (rows) =>
        rows.length === USERS.length && rows.every((r) => r.status === "pending" && r.attempts === 1 && r.lastErrorCode?.startsWith("503")),
      "every send refused once and waiting for its retry",
    );
    expect(waiting).toHaveLength(USERS.length);
    const recalled = await hh.engine.recall(id, admin);
    expect(recalled).toMatchObject({ status: "canceled", counts: { canceled: USERS.length, pending: 0 } });
    skew = 3_600_000;
    // Another broadcast to the same people, after every retry time: once it is done, the lane has looked for due rows since.
    const later = await broadcast(hh, "after the retry time");
    await hh.waitFor(later, (n: Notification) => finished(n) && n.counts.sent === USERS.length);
    expect((await rowsOf(hh, id)).map((r) => r.status)).toEqual(USERS.map(() => "canceled"));
    // Each got the later message only.
    expect(USERS.map((i) => hh.received(i).received)).toEqual(USERS.map(() => 1));
  });
});
