import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { type WelcomeWatch, welcomeFirst } from "../../src/delivery/install/welcome-first.js";
import { WelcomeTracker } from "../../src/delivery/install/welcomes.js";
import type { WelcomeStore } from "../../src/store/ports.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * welcomeFirst, the install step's wait for a welcome, against a real store's holds: after a new
 * install it waits for the install event's hold and then for its end; after a 409 only for a
 * live hold, whoever opened it; it gives up after its bounds; this process's own welcomes wake it.
 */
describe("welcomeFirst", () => {
  const stores = createStoreFactory("sqlite");
  let holds: WelcomeStore;
  let tracker: WelcomeTracker;
  const watch = (waitMs: number, lookMs?: number): WelcomeWatch => ({ holds, tracker, clock: systemClock, waitMs, lookMs });
  const iso = (ms: number) => new Date(ms).toISOString();

  beforeAll(async () => {
    const store = await stores.open();
    if (!store.welcomes) throw new Error("no welcome holds");
    holds = store.welcomes;
    tracker = new WelcomeTracker(systemClock);
  });
  afterAll(() => stores.cleanup());

  it("after a 409 with no live hold: at once; with a live hold (any install's): until it ends", async () => {
    const t = Date.now();
    expect(await welcomeFirst(watch(5_000), "a:none", undefined)).toBe(true);
    await holds.expect("a:live", iso(t - 60_000), iso(t + 60_000)); // asked long before: still live
    await holds.stored("a:live", "n_live", iso(t + 60_000));
    tracker.stored("a:live", "n_live"); // this process stored the welcome
    // Looking at the store only every 30 s: only the wake-up can end this wait soon.
    const waiting = welcomeFirst(watch(60_000, 30_000), "a:live", undefined);
    let done = false;
    void waiting.then(() => {
      done = true;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    // The welcome sent here: the store's hold ends, then this process's naps wake.
    await holds.settled(["n_live"], iso(Date.now()));
    const woke = Date.now();
    tracker.settled(["n_live"]);
    expect(await waiting).toBe(true);
    expect(Date.now() - woke).toBeLessThan(10_000); // woken, not the next look (30 s)
  });

  it("after a new install: waits for its install event's hold, then its end; false when none came in time", async () => {
    const installedAt = Date.now();
    const waiting = welcomeFirst(watch(5_000), "a:new", installedAt);
    await new Promise((r) => setTimeout(r, 300));
    await holds.expect("a:new", iso(Date.now()), iso(Date.now() + 600));
    expect(await waiting).toBe(true);
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse((await holds.get("a:new"))?.until ?? ""));
    // An old hold that ended long ago is not this install's: no event came within 300 ms.
    await holds.expect("a:old", iso(installedAt - 60_000), iso(installedAt - 50_000));
    expect(await welcomeFirst(watch(300), "a:old", Date.now())).toBe(false);
  });

  it("never waits longer than twice its bound, nor past its signal, whatever the hold says", async () => {
    const t = Date.now();
    await holds.expect("a:stuck", iso(t), iso(t + 3_600_000)); // another process's clock an hour ahead
    const started = Date.now();
    expect(await welcomeFirst(watch(200), "a:stuck", undefined)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
    const abort = new AbortController();
    const waiting = welcomeFirst(watch(60_000), "a:stuck", undefined, abort.signal);
    abort.abort();
    expect(await waiting).toBe(true);
  });
});
