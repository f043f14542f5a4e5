import { afterEach, describe, expect, it } from "vitest";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import type { BucketKey, RateLimiter } from "../../src/delivery/limits/rate-limiter.js";
import { createStoreFactory, type StoreFactory } from "../helpers/stores.js";
import { admin, finished, type Harness, request, startHarness } from "./helpers/harness.js";

/**
 * The engine's first request goes alone (it opens the connection pool), the others wait for its
 * answer. A first job that gets no slot (its conversation's bucket refuses it) sends nothing: the
 * others must not wait for an answer that never comes. Before the fix the whole process stopped
 * sending, and its shutdown hung on the waiting lanes (seen as a worker's exit code 1 in the
 * multi-process rolling-restart test).
 */
describe("warm-up: the first job may not get a slot", () => {
  let stores: StoreFactory | undefined;
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    await stores?.cleanup();
    h = undefined;
  });

  it("the first job's conversation refuses it for 1.5 s: the others are sent meanwhile, it after; stop() returns", async () => {
    const inner = new InProcessRateLimiter({ marginMs: 150 });
    let refused: string | undefined;
    const limiter: RateLimiter = {
      // The first conversation bucket asked for (the first job's) refuses once, for 1.5 s.
      tryAcquire: (keys: readonly BucketKey[], now: number) => {
        const conversation = keys.find((k) => !k.key.startsWith("tenant:"));
        if (conversation && refused === undefined) {
          refused = conversation.key;
          return Promise.resolve(1_500);
        }
        return inner.tryAcquire(keys, now);
      },
      block: (key, until) => inner.block(key, until),
    };
    stores = createStoreFactory("sqlite");
    h = await startHarness(await stores.open(), { limiter, emulator: { org: { users: 10 } } });
    const users = [0, 1, 2, 3, 4];
    await h.seedUsers(users);
    const started = Date.now();
    const { notification } = await h.engine.submit(
      request({ conversations: users.map((i) => h!.emulator.org.personalConversationId(i)) }),
      admin,
    );
    // The four others go at once (well before the refused one's 1.5 s are up).
    const harness = h;
    await expect
      .poll(() => users.filter((i) => harness.received(i).received === 1).length, { timeout: 1_200, interval: 20 })
      .toBeGreaterThanOrEqual(4);
    expect(refused).toBeDefined();
    const done = await h.waitFor(notification.id, finished, 10_000);
    expect(done.counts.sent).toBe(5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    for (const i of users) expect(h.received(i).received).toBe(1);
    // And the engine stops promptly (nothing left waiting for a warm-up).
    const stopStarted = Date.now();
    await h.engine.stop();
    expect(Date.now() - stopStarted).toBeLessThan(2_000);
  });
});
