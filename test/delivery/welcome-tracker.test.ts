import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { WelcomeTracker } from "../../src/delivery/install/welcomes.js";

/**
 * The install step holds a person's message until the welcome the install triggered was sent
 * (WelcomeTracker.sent). It must wake when this process's engine finishes the welcome (`settled`),
 * not only when a look at the store finds it final, and never hold the message for ever.
 */
describe("WelcomeTracker.sent", () => {
  const looks = (final: () => boolean) => {
    const seen: string[] = [];
    return {
      seen,
      isFinal: async (id: string) => {
        seen.push(id);
        return final();
      },
    };
  };

  it("resolves when the welcome's notification is settled here, without waiting for the store to say so", async () => {
    const tracker = new WelcomeTracker(systemClock);
    const store = looks(() => false); // the store never says final: only `settled` can end the wait
    tracker.isFinal = store.isFinal;
    tracker.stored("a:chat", "n_welcome");
    let done = false;
    const wait = tracker.sent("a:chat", 60_000).then(() => {
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    tracker.settled(["n_other"]);
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    tracker.settled(["n_welcome"]);
    await wait;
    expect(done).toBe(true);
    // One look before the wait, one after the wake (which the settled id answers without the store).
    expect(store.seen).toEqual(["n_welcome"]);
  });

  it("resolves at once when no reply is pending, when the store says final, and when the signal aborts", async () => {
    const tracker = new WelcomeTracker(systemClock);
    await tracker.sent("a:none", 60_000); // nothing stored for this chat
    const store = looks(() => true);
    tracker.isFinal = store.isFinal;
    tracker.stored("a:chat", "n_1");
    await tracker.sent("a:chat", 60_000);
    expect(store.seen).toEqual(["n_1"]);
    tracker.isFinal = looks(() => false).isFinal;
    tracker.stored("a:chat2", "n_2");
    const abort = new AbortController();
    const wait = tracker.sent("a:chat2", 60_000, abort.signal);
    abort.abort();
    await wait;
  });

  it("a welcome that never leaves holds the message at most maxAgeMs after it was stored", async () => {
    const tracker = new WelcomeTracker(systemClock);
    tracker.isFinal = looks(() => false).isFinal;
    tracker.stored("a:chat", "n_stuck");
    await tracker.sent("a:chat", 0);
  });
});

describe("WelcomeTracker.wait", () => {
  it("forgets a conversation whose welcome never came (no entry left per install, in a process that never sees the welcomes)", async () => {
    const tracker = new WelcomeTracker(systemClock);
    const abort = new AbortController();
    const waits = Array.from({ length: 50 }, (_, i) => tracker.wait(`a:chat-${i}`, 0, 60_000, abort.signal));
    const timedOut = await tracker.wait("a:late", 0, 1); // one that times out
    abort.abort(); // the others stop (the engine stopping, or the step ending)
    expect(await Promise.all(waits)).toEqual(Array(50).fill(false));
    expect(timedOut).toBe(false);
    const waiters = (tracker as unknown as { waiters: Map<string, unknown> }).waiters;
    expect(waiters.size).toBe(0);
  });
});
