import { beforeAll, expect, it } from "vitest";
import type { DeliveryEngine } from "../../src/delivery/engine.js";
import { parseActivity } from "../../src/inbound/activity.js";
import { ActivityHandler, type BotReplies } from "../../src/inbound/handler.js";
import { silentLogger } from "../../src/log.js";
import { durableReplies } from "../../src/server/durable-replies.js";
import type { Store } from "../../src/store/ports.js";
import { personalConversation, personalInstall } from "../helpers/activities.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * Review of issue 15's welcome holds: durableReplies stores the welcome row, then awaits onStored (herald.ts: welcomes.stored
 * then engine.get). If that hook throws (a pool timeout, a failover blip), `send` throws, the
 * handler takes the welcome as not stored and cancels the hold (unnamed, so cancel ends it) — yet
 * the welcome row is stored and will be sent: other processes' claims no longer hold messages back.
 */
const carol = { id: "29:carol", name: "Carol C", aadObjectId: "aad-carol" };
const stores = createStoreFactory("sqlite");
let store: Store;
beforeAll(async () => {
  store = await stores.open();
});

it("a welcome row that is stored keeps its hold even when naming it on the hold failed", async () => {
  const welcomes = store.welcomes;
  if (!welcomes) throw new Error("no welcome holds");
  const stored: string[] = [];
  const engine = {
    async reply(r: { conversationId: string }) {
      stored.push(r.conversationId);
      return { notification: { id: "n_w_carol" }, created: true };
    },
    get: async () => ({ active: false }), // (drain's settle ends at once)
  } as unknown as DeliveryEngine;
  const reads = {
    member: async (_s: string, _c: string, id: string) => ({ id, name: "C" }),
    channelName: async () => undefined,
  } as unknown as BotReplies;
  const replies = durableReplies({
    engine,
    reads,
    replies: { inc: () => undefined } as never,
    logger: silentLogger,
    // As herald.ts, with the hold's write failing once (transient database error).
    onStored: async (_c, _id, kind) => {
      if (kind === "welcome") throw new Error("connection terminated unexpectedly");
    },
  });
  const h = new ActivityHandler({ store, replies, logger: silentLogger, now: () => new Date().toISOString() });
  const r = parseActivity(personalInstall(carol)[0]);
  if (!r.ok) throw new Error(r.reason);
  await h.handle(r.activity);
  await h.drain();
  const conv = String(personalConversation(carol)["id"]);
  expect(stored).toEqual([conv]); // the welcome row exists and will be sent
  const hold = await welcomes.get(conv);
  expect(Date.parse(hold?.until ?? "")).toBeGreaterThan(Date.now()); // ...so its hold must still be live
});
