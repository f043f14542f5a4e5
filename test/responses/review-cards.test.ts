import { afterAll, beforeAll, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { ConnectorError } from "../../src/connector/errors.js";
import type { Notification } from "../../src/delivery/model.js";
import { silentLogger } from "../../src/log.js";
import { ResponseService } from "../../src/responses/service.js";
import type { Store } from "../../src/store/ports.js";
import type { DeliveryRef, ResponseStore } from "../../src/store/responses.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * A channel card whose message is gone (deleted in Teams, the channel removed: the PUT answers
 * 404) can never be updated: it must not be retried for ever (every minute, and again after each
 * restart), while a passing failure (429, 5xx) is still tried again.
 */
const stores = createStoreFactory("sqlite");
let store: Store;
let responses: ResponseStore;
beforeAll(async () => {
  store = await stores.open();
  if (!store.responses) throw new Error("store without responses");
  responses = store.responses;
});
afterAll(() => stores.cleanup());

const until = async (what: string, ok: () => boolean, ms = 3_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

function service(notificationId: string, status: number) {
  let calls = 0;
  const svc = new ResponseService({
    responses,
    deliveries: {
      getNotification: async (id: string) =>
        ({ id, message: { poll: { question: "Q?", options: ["A", "B"] } }, messageVersion: 1 }) as unknown as Notification,
    },
    connector: {
      updateActivity: async () => {
        calls++;
        throw new ConnectorError({
          kind: "http",
          source: "connector",
          operation: "updateActivity",
          url: "http://127.0.0.1:9",
          status,
          code: status === 404 ? "NotFound" : "Throttled",
        });
      },
    },
    clock: systemClock,
    logger: silentLogger,
    cardUpdateIntervalMs: 5,
  });
  const ref: DeliveryRef = {
    notificationId,
    seq: 1,
    kind: "channel",
    tenantId: "t1",
    conversationId: `19:c-${notificationId}@thread.tacv2;messageid=1`,
    serviceUrl: "http://127.0.0.1:9",
    activityId: "1",
    personal: false,
  };
  return { svc, ref, calls: () => calls };
}

const vote = (notificationId: string, userId = "29:u1") =>
  responses.answer({
    notificationId,
    deliverySeq: 1,
    tenantId: "t1",
    userId,
    kind: "poll",
    options: [0],
    anonymous: false,
    optionCount: 2,
    at: new Date().toISOString(),
  });

it("a PUT that answers 404 (message gone) is given up at once, not retried", async () => {
  await vote("gone");
  const { svc, ref, calls } = service("gone", 404);
  svc.channelCards.touch(ref);
  await until("the PUT", () => calls() >= 1);
  await until("nothing owed any more", () => svc.channelCards.pendingCount === 0, 1_000);
  expect(calls()).toBe(1);
  await svc.stop();
});

it("a PUT that answers 429 is still tried again", async () => {
  await vote("busy");
  const { svc, ref, calls } = service("busy", 429);
  svc.channelCards.touch(ref);
  await until("a second PUT", () => calls() >= 2);
  expect(svc.channelCards.pendingCount).toBeGreaterThan(0);
  await svc.stop();
});

it("a vote stored while the PUT is on its way (by another Herald process) gets one more PUT: the last totals land", async () => {
  const shown: unknown[] = [];
  let puts = 0;
  const svc = new ResponseService({
    responses,
    deliveries: {
      getNotification: async (id: string) =>
        ({ id, message: { poll: { question: "Q?", options: ["A", "B"] } }, messageVersion: 1 }) as unknown as Notification,
    },
    connector: {
      updateActivity: async (_s, _c, _a, activity) => {
        puts++;
        // Another process takes a vote now; its own PUT (showing 2) lands before this one (showing 1).
        if (puts === 1) await vote("race", "29:u2");
        shown.push(JSON.stringify(activity));
        return { id: "1" };
      },
    },
    clock: systemClock,
    logger: silentLogger,
    cardUpdateIntervalMs: 5,
  });
  await vote("race", "29:u1");
  svc.channelCards.touch({
    notificationId: "race",
    seq: 1,
    kind: "channel",
    tenantId: "t1",
    conversationId: "19:c-race@thread.tacv2;messageid=1",
    serviceUrl: "http://127.0.0.1:9",
    activityId: "1",
    personal: false,
  });
  await until("a PUT showing both answers", () => String(shown.at(-1) ?? "").includes("2 people answered"), 2_000);
  await svc.stop();
});
