import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { Installer } from "../../src/delivery/install/installer.js";
import { WelcomeTracker } from "../../src/delivery/install/welcomes.js";
import type { RateLimiter } from "../../src/delivery/limits/rate-limiter.js";
import type { Job } from "../../src/delivery/model.js";
import type { TeamsAppGraph } from "../../src/graph/apps.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * Review of issue 15's welcome holds: an install step whose POST got 201 but whose chat read came back empty (Graph's
 * installation lists lag: `retry` "listed no installation with a chat yet") releases its install
 * lease at once and forgets that it installed. The next step for the person (the same row 1 s
 * later, or another notification's row in another process) gets 409, finds the chat, sees no
 * hold (Teams' install event has not come yet) and sends: the message before the welcome.
 */
describe("install step retried after a 201 without a chat", () => {
  const stores = createStoreFactory("sqlite");
  let store: Store;
  beforeAll(async () => {
    store = await stores.open();
  });
  afterAll(() => stores.cleanup());

  it("the step after the 201 waits for the install event's welcome", async () => {
    const welcomes = store.welcomes;
    if (!welcomes) throw new Error("no welcome holds");
    const tenantId = "11111111-1111-1111-1111-111111111111";
    const user = "22222222-2222-2222-2222-222222222222";
    const chat = "a:review21b-chat";
    let posts = 0;
    let reads = 0;
    const apps = {
      graph: { throttledUntil: () => 0 },
      catalogId: async () => "cat",
      installForUser: async () => (++posts === 1 ? "installed" : "alreadyInstalled"),
      // Graph's installation list lags the 201 once.
      personalChatId: async () => (++reads === 1 ? undefined : chat),
    } as unknown as TeamsAppGraph;
    const limiter = { tryAcquire: async () => 0, block: async () => undefined } as unknown as RateLimiter;
    const process = () =>
      new Installer({
        apps,
        conversations: store.conversations,
        limiter,
        clock: systemClock,
        logger: silentLogger,
        welcomes: { holds: welcomes, tracker: new WelcomeTracker(systemClock), clock: systemClock, waitMs: 8_000 },
        welcomeWaitMs: 8_000,
      });
    const a = process();
    const b = process(); // another Herald on the same database
    const job = { tenantId, targetId: user, user: { aadObjectId: user } } as unknown as Job;

    const first = await a.prepare(job);
    expect(first.kind).toBe("retry"); // 201, no chat listed yet

    // Another notification's row for the person, in process b, 1 s later; Teams' install event
    // (hold + chat) lands 1.5 s after that.
    await new Promise((r) => setTimeout(r, 1_000));
    let eventAt = 0;
    const event = (async () => {
      await new Promise((r) => setTimeout(r, 1_500));
      eventAt = Date.now();
      const at = new Date().toISOString();
      await welcomes.expect(chat, at, new Date(Date.now() + 8_000).toISOString());
    })();
    const second = await b.prepare(job);
    const decidedAt = Date.now();
    await event;
    expect(second.kind).toBe("chat");
    // The message may go only after the install event's hold (and the welcome) — not before it exists.
    expect({ posts, sentBeforeInstallEvent: decidedAt < eventAt }).toEqual({ posts: 2, sentBeforeInstallEvent: false });
  }, 30_000);
});
