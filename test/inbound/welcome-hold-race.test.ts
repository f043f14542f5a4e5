import { beforeAll, expect, it } from "vitest";
import { ActivityHandler, type BotReplies } from "../../src/inbound/handler.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";
import { alice, bob, parsedActivity, personalConversation, personalInstall, personalUninstall } from "../helpers/activities.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Review of issue 15's welcome holds (found by an adversarial review, failing on its first
 * design): Teams sends installationUpdate and conversationUpdate for one install at once, and
 * behind a load balancer they land in two processes; and a person may uninstall and reinstall
 * while the first welcome is still unsent. In each case the welcome that will be sent must hold
 * the chat until it is sent. Two ActivityHandlers on one store stand for two processes.
 */
const activity = parsedActivity;

forEachStore((stores) => {
  let store: Store;
  beforeAll(async () => {
    store = await stores.open();
  });

  it("keeps the hold live while the welcome the other event's process stored is unsent", async () => {
    const welcomes = store.welcomes;
    if (!welcomes) throw new Error("no welcome holds");
    let t = Date.parse("2026-01-01T00:00:00Z");
    const now = () => {
      t += 10;
      return new Date(t).toISOString();
    };
    // Durable replies as in herald.ts: the welcome is stored as a notification; onStored names it on the hold.
    const replies: BotReplies = {
      async send(_s, conversationId) {
        await welcomes.stored(conversationId, "n_welcome", new Date(t + 10_000).toISOString());
      },
      async member(_s, _c, userId) {
        return { id: userId, name: "X" };
      },
      async channelName() {
        return undefined;
      },
    };
    // Process 1's upsert is slow (GC pause, pool wait): gated until process 2 handled its event.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const slowConversations = Object.create(store.conversations) as Store["conversations"];
    slowConversations.upsert = async (o, welcome) => {
      await gate;
      return store.conversations.upsert(o, welcome);
    };
    const slowStore = Object.create(store) as Store;
    Object.defineProperty(slowStore, "conversations", { value: slowConversations });
    const p1 = new ActivityHandler({ store: slowStore, replies, logger: silentLogger, now });
    const p2 = new ActivityHandler({ store, replies, logger: silentLogger, now });

    const [installationUpdate, conversationUpdate] = personalInstall(alice);
    const first = p1.handle(activity(installationUpdate)); // waits in its upsert
    await new Promise((r) => setTimeout(r, 50));
    await p2.handle(activity(conversationUpdate)); // activates: hold opened, welcome stored
    const hold = await welcomes.get(String(personalConversation(alice)["id"]));
    expect(hold?.notificationId).toBe("n_welcome");
    open();
    await first; // a repeated install for P1: it must leave the hold alone
    await p1.drain();
    await p2.drain();
    const after = await welcomes.get(String(personalConversation(alice)["id"]));
    // The welcome n_welcome was never sent (settled never called): the hold must still be live.
    expect(Date.parse(after?.until ?? "")).toBeGreaterThan(t);
  });

  it("holds a reinstall's welcome when the first install's welcome is still unsent", async () => {
    const welcomes = store.welcomes;
    if (!welcomes) throw new Error("no welcome holds");
    let t = Date.parse("2026-02-01T00:00:00Z");
    const now = () => {
      t += 10;
      return new Date(t).toISOString();
    };
    let k = 0;
    const replies: BotReplies = {
      async send(_s, conversationId) {
        await welcomes.stored(conversationId, `n_w${++k}`, new Date(t + 10_000).toISOString());
      },
      async member(_s, _c, userId) {
        return { id: userId, name: "X" };
      },
      async channelName() {
        return undefined;
      },
    };
    const h = new ActivityHandler({ store, replies, logger: silentLogger, now });
    const conv = String(personalConversation(bob)["id"]);
    await h.handle(activity(personalInstall(bob)[0])); // welcome n_w1 stored, not sent yet
    await h.handle(activity(personalUninstall(bob)));
    await h.handle(activity(personalInstall(bob)[0])); // reinstall within 10 s: welcome n_w2
    expect(k).toBe(2);
    // n_w1 fails (the chat was uninstalled when it went): its end ends the hold...
    await welcomes.settled(["n_w1"], now());
    const after = await welcomes.get(conv);
    // ...but n_w2 is still unsent: a message must not overtake it.
    expect(Date.parse(after?.until ?? "")).toBeGreaterThan(t);
  });
});
