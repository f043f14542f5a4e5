import { afterEach, describe, expect, it } from "vitest";
import { type Clock, systemClock } from "../../src/clock.js";
import { Permits } from "../../src/delivery/dispatch/permits.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import type { RateLimiter } from "../../src/delivery/limits/rate-limiter.js";
import type { DeliveryKey, Job } from "../../src/delivery/model.js";
import { policiesFor } from "../../src/delivery/policies.js";
import { rig, sends, settle, stopLanes, until } from "./helpers/lane-rig.js";

/**
 * Review (revtick2) of 37e4845 (staged sends hold no permit; ticks opt-in): a lane's staged sends,
 * with the default tick of 1 and with ticks, against the permits, stop and a clock that steps back.
 */
afterEach(stopLanes);

describe("lane, default tick (1): rows marked in flight and not sent", () => {
  it("stay within the process's permits while every permit is taken (as before 37e4845), then each goes once", async () => {
    // Two tenants' lanes share a process's permits (HERALD_MAX_IN_FLIGHT, here 2), all held by
    // requests in flight elsewhere (slow answers from Teams). Before 37e4845 a staged send held its
    // permit: a process had at most maxInFlight rows marked and unsent (a crash reports each
    // `unknown`, HERALD_IN_FLIGHT_POLICY). Now each lane marks its stage group (10 at 50 rps)
    // and then waits for permits: lanes × 10 rows in doubt per process.
    const permits = new Permits(2);
    await permits.acquire();
    await permits.acquire();
    const stop = new AbortController();
    const marks: DeliveryKey[] = [];
    const launched: Job[] = [];
    let claimed = 0;
    const onClaim = () => {
      claimed++;
    };
    const lanes = ["t1", "t2"].map((t) => rig(t, { policies: policiesFor(50, 1), permits, stop, marks, launched, onClaim }));
    for (const [i, r] of lanes.entries()) {
      r.rows.set(`n${i}`, sends(`t${i + 1}`, `n${i}`, 20));
      r.lane.announce(`n${i}`);
    }
    await until("both lanes claimed their rows", () => claimed >= 2);
    await settle();
    expect(launched).toHaveLength(0);
    expect(marks.length).toBeLessThanOrEqual(permits.size);

    // The permits come back: every row goes, once.
    permits.release();
    permits.release();
    await until("every row sent", () => launched.length === 40, 10_000);
    await settle();
    expect(launched).toHaveLength(40);
    expect(new Set(launched.map((j) => `${j.tenantId}/${j.seq}`)).size).toBe(40);
    stop.abort();
    await Promise.all(lanes.map((r) => r.lane.stopped()));
    expect(permits.inUse).toBe(0);
  });
});

describe("lane, ticks (HERALD_TENANT_TICK 10)", () => {
  it("sends nothing once stopping while it waited for its tick's permits; the marked rows go back", async () => {
    const permits = new Permits(10);
    await permits.acquireMany(10); // held by requests in flight (other lanes)
    const r = rig("t1", { policies: policiesFor(50, 1, 10), permits });
    r.rows.set("n1", sends("t1", "n1", 10));
    r.lane.announce("n1");
    await until("the tick's rows marked", () => r.marks.length === 10);
    await settle(); // the lane now waits for 10 permits at once
    r.stop.abort(); // the engine stops (SIGTERM)...
    permits.release(10); // ...and the requests in flight end
    await r.lane.stopped();
    expect(r.launched).toHaveLength(0);
    expect(r.recorded.filter((x) => x.kind === "release").map((x) => x.seq)).toHaveLength(10);
    expect(permits.inUse).toBe(0);
  });

  it("a clock stepping back (NTP; a new measure of the database's clock) does not stall the next tick", async () => {
    // The lane's clock is the engine's StoreClock; with RedisRateLimiter the limiter decides with
    // Redis's TIME, unaffected by the step (emulated: the limiter reads Date.now()).
    let skew = 0;
    const clock: Clock = { now: () => Date.now() + skew, sleep: systemClock.sleep };
    const memory = new InProcessRateLimiter();
    const limiter: RateLimiter = {
      tryAcquire: (keys) => memory.tryAcquire(keys, Date.now()),
      block: (key, at) => memory.block(key, at - skew),
    };
    const r = rig("t1", { policies: policiesFor(50, 1, 10), permits: new Permits(64), clock, limiter });
    r.rows.set("n1", sends("t1", "n1", 10));
    r.lane.announce("n1");
    await until("the first tick sent", () => r.launched.length === 10);
    skew = -10_000; // the clock steps back 10 s
    r.rows.set("n2", sends("t1", "n2", 10));
    r.lane.announce("n2");
    // Next tick due 209 ms after the first: it must not wait for the 10 s the clock went back.
    await until("the second tick sent", () => r.launched.length === 20, 3_000);
  });
});
