import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/clock.js";
import type { BucketKey, RateLimiter } from "../../src/delivery/limits/rate-limiter.js";
import { limiterOnBaseClock, StoreClock } from "../../src/delivery/store-clock.js";

const simulated = (t: number): Clock & { t: number } => {
  const c = { t, now: () => c.t, sleep: () => Promise.resolve() };
  return c;
};

describe("StoreClock", () => {
  it("is the injected clock when the store has no clock of its own (SQLite): simulated time still moves it", async () => {
    const base = simulated(1_000);
    const clock = new StoreClock(base, async () => undefined, 5_000);
    await clock.sync();
    base.t = 3_600_000;
    expect(clock.now()).toBe(3_600_000);
  });

  it("follows the database's clock, measured at the midpoint of the round trip, whatever the injected clock says", async () => {
    const base = simulated(1_000);
    // The database is 10 minutes ahead; the round trip takes 40 ms of the injected clock.
    const clock = new StoreClock(
      base,
      async () => {
        base.t += 20;
        const db = base.t + 600_000;
        base.t += 20;
        return db;
      },
      5_000,
    );
    await clock.sync();
    expect(clock.now()).toBe(base.t + 600_000);
    base.t += 1_000;
    expect(clock.now()).toBe(base.t + 600_000);
    expect(clock.toBase(clock.now())).toBe(base.t);
  });

  it("measures again when the last measure is older than maxAgeMs, not before; a failing database keeps the last offset", async () => {
    const base = simulated(0);
    let asked = 0;
    let fail = false;
    const clock = new StoreClock(
      base,
      async () => {
        asked++;
        if (fail) throw new Error("down");
        return base.t + 100;
      },
      5_000,
    );
    await clock.fresh();
    await clock.fresh();
    expect(asked).toBe(1);
    base.t += 5_000;
    fail = true;
    await clock.fresh();
    expect(asked).toBe(2);
    expect(clock.now()).toBe(base.t + 100);
  });

  it("gives the rate limiter the injected clock's times", async () => {
    const base = simulated(10_000);
    const clock = new StoreClock(base, async () => base.t + 600_000, 5_000);
    await clock.sync();
    const seen: number[] = [];
    const limiter: RateLimiter = {
      tryAcquire: async (_keys: readonly BucketKey[], now: number) => {
        seen.push(now);
        return 0;
      },
      block: async (_key: string, until: number) => {
        seen.push(until);
      },
    };
    const onBase = limiterOnBaseClock(limiter, clock);
    await onBase.tryAcquire([], clock.now());
    await onBase.block("k", clock.now() + 30_000);
    expect(seen).toEqual([10_000, 40_000]);
  });
});
