import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { WelcomeTracker } from "../../src/delivery/install/welcomes.js";

/**
 * A wait for a welcome looks at the store now and then (welcomeFirst) and naps between looks
 * (WelcomeTracker.nap): the nap must end at once when this process stores or sends a reply into
 * that conversation, not at the next look, and never outlive its time or its signal.
 */
describe("WelcomeTracker.nap", () => {
  const ended = (p: Promise<void>) => {
    let done = false;
    void p.then(() => {
      done = true;
    });
    return () => done;
  };
  const turn = () => new Promise((r) => setImmediate(r));

  it("ends when a reply to its conversation is stored or settled here, not for another conversation's", async () => {
    const tracker = new WelcomeTracker(systemClock);
    const first = ended(tracker.nap("a:chat", 60_000));
    tracker.stored("a:other", "n_other");
    await turn();
    expect(first()).toBe(false);
    tracker.stored("a:chat", "n_welcome");
    await turn();
    expect(first()).toBe(true);
    const second = ended(tracker.nap("a:chat", 60_000));
    tracker.settled(["n_other", "n_unknown"]);
    await turn();
    expect(second()).toBe(false);
    tracker.settled(["n_welcome"]);
    await turn();
    expect(second()).toBe(true);
    expect((tracker as unknown as { nappers: Map<string, unknown> }).nappers.size).toBe(0);
  });

  it("ends after its time and when its signal aborts, leaving nothing behind", async () => {
    const tracker = new WelcomeTracker(systemClock);
    await tracker.nap("a:chat", 1);
    const abort = new AbortController();
    const nap = tracker.nap("a:chat", 60_000, abort.signal);
    abort.abort();
    await nap;
    await tracker.nap("a:chat", 60_000, abort.signal); // already aborted: at once
    expect((tracker as unknown as { nappers: Map<string, unknown> }).nappers.size).toBe(0);
  });
});
