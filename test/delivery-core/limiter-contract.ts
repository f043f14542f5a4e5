/**
 * The RateLimiter contract, run against every implementation (limiter-memory.test.ts,
 * limiter-redis.test.ts). Time is simulated: every call passes `now`; nothing sleeps. The Redis
 * limiter runs it with `time: "caller"`; Redis's own clock, its default, is tested in real time
 * in limiter-redis.test.ts.
 * Exemption: eviction of idle state is checked per implementation (Map size in process,
 * key TTLs in Redis) because how state disappears is not observable through the port.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/clock.js";
import {
  compileWindow,
  conversationSendPolicy,
  defaultGcraOptions,
  type GcraOptions,
  GROUP_OPEN_MS,
  type LimitPolicy,
  type LimitWindow,
  tenantPolicy,
} from "../../src/delivery/limits/policy.js";
import type { BucketKey, RateLimiter } from "../../src/delivery/limits/rate-limiter.js";

export interface LimiterHandles {
  limiter: RateLimiter;
  /** Another handle on the same state: a second process (Redis) or the same object (in process). */
  peer: RateLimiter;
}

export interface LimiterHarness {
  /** Fresh state (own namespace). `clock` is what the engine would pass; tests move it with `now`. */
  fresh(options: GcraOptions, clock: Clock): LimiterHandles | Promise<LimiterHandles>;
  /** Property runs (Redis round trips cost more than Map lookups). */
  runs: number;
}

/** A simulated clock: `at(t)` moves it; only block() TTLs of the Redis limiter read it. */
export function simClock(): Clock & { t: number } {
  const c = {
    t: 0,
    now: () => c.t,
    sleep: () => Promise.reject(new Error("simulated clock: nothing may sleep")),
  };
  return c;
}

/** Throws naming the first window of `policy` that holds more than its limit among `times` (closed windows). */
export function assertNoWindowExceeded(times: readonly number[], policy: LimitPolicy, label: string): void {
  const sorted = [...times].sort((a, b) => a - b);
  for (const w of policy) {
    let j = 0;
    for (let i = 0; i < sorted.length; i++) {
      // Window [sorted[j], sorted[i]] of length ≤ windowMs, closed at both ends.
      while (sorted[i]! - sorted[j]! > w.windowMs) j++;
      const count = i - j + 1;
      if (count > w.limit) {
        throw new Error(`${label}: ${count} requests in [${sorted[j]}, ${sorted[i]}] ms, window ${w.limit}/${w.windowMs} ms`);
      }
    }
  }
}

/** Plain windows (a burst) and grouped ones (ticks of `group` requests, burst 1), half and half. */
const windowArb: fc.Arbitrary<LimitWindow> = fc
  .record({
    limit: fc.integer({ min: 1, max: 12 }),
    windowMs: fc.integer({ min: 50, max: 3_000 }),
    share: fc.double({ min: 0, max: 1, noNaN: true }),
    grouped: fc.boolean(),
  })
  .map(({ limit, windowMs, share, grouped }) =>
    grouped
      ? { limit, windowMs, group: 1 + Math.floor(share * (limit - 1)) }
      : { limit, windowMs, burst: 1 + Math.floor(share * (limit - 1)) },
  );

/** The most slots every window of `buckets` admits at once (see BucketKey.slots). */
function mostSlots(buckets: readonly BucketKey[], options: GcraOptions): number {
  let most = Number.POSITIVE_INFINITY;
  for (const b of buckets)
    for (const w of b.policy) {
      const c = compileWindow(w, options);
      most = Math.min(most, c.group > 1 ? c.group : 1 + Math.floor(c.toleranceUs / c.intervalUs));
    }
  return most;
}

const eventArb = fc.record({
  /** ms after the previous request; fractions exercise sub-ms arithmetic, the third joins open ticks. */
  gap: fc.oneof(
    fc.integer({ min: 0, max: 400 }),
    fc.double({ min: 0, max: 50, noNaN: true }),
    fc.double({ min: 0, max: GROUP_OPEN_MS + 1, noNaN: true }),
  ),
  /** Which of the 3 buckets the request needs (bit mask, never empty). */
  mask: fc.integer({ min: 1, max: 7 }),
  /** When refused: come back exactly when told (probes the boundary), or keep the random gaps. */
  obey: fc.boolean(),
  /** Slots taken at once (requests leaving together), capped by what the buckets admit at once. */
  slots: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 12 })),
});

export function rateLimiterContract(name: string, harness: LimiterHarness): void {
  describe(`RateLimiter contract: ${name}`, () => {
    it("never admits more than a window's limit in any window, for random request times and policies", async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.array(windowArb, { minLength: 1, maxLength: 3 }), { minLength: 3, maxLength: 3 }),
          // size "max": fast-check's default size ("small") caps an array at ~10 elements whatever maxLength says.
          fc.array(eventArb, { minLength: 1, maxLength: 120, size: "max" }),
          fc.integer({ min: 1, max: 30 }),
          fc.integer({ min: 0, max: 15 }),
          async (policies, events, marginMs, catchUpMs) => {
            const clock = simClock();
            const { limiter } = await harness.fresh({ marginMs, catchUpMs }, clock);
            run++;
            const buckets: BucketKey[] = policies.map((policy, i) => ({ key: `prop-${run}-${i}`, policy }));
            const admitted: number[][] = [[], [], []];
            let now = 1_000;
            for (const e of events) {
              now += e.gap;
              clock.t = now;
              const chosen = buckets.filter((_, i) => (e.mask >> i) & 1);
              const slots = Math.min(e.slots, mostSlots(chosen, { marginMs, catchUpMs }));
              const mine = chosen.map((b) => ({ ...b, slots }));
              const admit = (at: number) =>
                buckets.forEach((b, i) => {
                  if (chosen.includes(b)) for (let n = 0; n < slots; n++) admitted[i]!.push(at);
                });
              const wait = await limiter.tryAcquire(mine, now);
              if (wait === 0) {
                admit(now);
              } else if (e.obey) {
                expect(wait).toBeGreaterThanOrEqual(1);
                // A refusal takes nothing, so asking again just before the promised time is refused too,
                if (wait >= 2) expect(await limiter.tryAcquire(mine, now + wait - 1)).toBeGreaterThan(0);
                // and at the promised time it succeeds (nobody else is competing here).
                now += wait;
                clock.t = now;
                expect(await limiter.tryAcquire(mine, now)).toBe(0);
                admit(now);
              }
            }
            buckets.forEach((b, i) => {
              assertNoWindowExceeded(admitted[i]!, b.policy, b.key);
            });
          },
        ),
        { numRuns: harness.runs },
      );
    });

    it("reaches the steady rate of its margins (≥ 95% of the tenant ceiling) over a simulated minute, one conversation per request, with late wake-ups", async () => {
      const clock = simClock();
      const { limiter } = await harness.fresh({}, clock);
      const tenant: BucketKey = { key: "steady-tenant", policy: tenantPolicy(50) };
      const rnd = fc.sample(fc.double({ min: 0, max: 5, noNaN: true }), { numRuns: 10_000, seed: 42 });
      const admitted: number[] = [];
      let now = 0;
      let conversation = 0;
      let late = 0;
      while (now < 60_000) {
        clock.t = now;
        const wait = await limiter.tryAcquire([{ key: `steady-conv-${conversation}`, policy: conversationSendPolicy }, tenant], now);
        if (wait === 0) {
          admitted.push(now);
          conversation++;
        } else {
          // A timer fires 0–5 ms late, as real ones do under load.
          now += wait + rnd[late++ % rnd.length]!;
        }
      }
      assertNoWindowExceeded(admitted, tenant.policy, "tenant");
      // Steady rate with the default margins: 1000 / (1000 + 30 + 10) of 50/s, 96.2%; late wake-ups may cost 1% of that.
      const { marginMs, catchUpMs } = defaultGcraOptions;
      const steady = (50 * 60 * 1_000) / (1_000 + marginMs + catchUpMs);
      expect(admitted.length).toBeGreaterThanOrEqual(Math.ceil(0.99 * steady));
      expect(admitted.length).toBeGreaterThanOrEqual(Math.ceil(0.95 * 50 * 60));
    });

    it("hands a grouped window out in ticks: up to `group` at once while the tick is open, at the steady rate of one by one", async () => {
      const clock = simClock();
      const { limiter, peer } = await harness.fresh({}, clock);
      const tenant: BucketKey = { key: "tick-tenant", policy: tenantPolicy(50, 10) };
      expect(tenant.policy[0]!.group).toBe(10);
      // One call for 4, then one by one from both handles (two processes): the tick's 10 are taken at once,
      expect(await limiter.tryAcquire([{ ...tenant, slots: 4 }], 1_000)).toBe(0);
      for (let i = 0; i < 6; i++) expect(await (i % 2 ? peer : limiter).tryAcquire([tenant], 1_000 + i)).toBe(0);
      // then nothing until the next tick: 209 ms after the first (1045 ms per 5 ticks), less the
      // 10 ms a late timer may catch up.
      expect(await limiter.tryAcquire([tenant], 1_003)).toBe(196);
      // A tick is open GROUP_OPEN_MS only: a request after that waits for the next one, the rest is lost.
      expect(await limiter.tryAcquire([tenant], 1_199)).toBe(0);
      expect(await limiter.tryAcquire([tenant], 1_199 + GROUP_OPEN_MS)).toBe(0);
      expect(await limiter.tryAcquire([tenant], 1_199 + GROUP_OPEN_MS + 1)).toBe(1_000 + 2 * 209 - 10 - (1_199 + GROUP_OPEN_MS + 1));
      // More than a tick at once can never go: a usage error, not a wait.
      await expect(limiter.tryAcquire([{ ...tenant, slots: 11 }], 5_000)).rejects.toMatchObject({ code: "HERALD_E_LIMITER_USAGE" });
      // A tick never holds more than its group, whatever the mix of slots joining it.
      expect(await limiter.tryAcquire([{ ...tenant, slots: 3 }], 6_000)).toBe(0);
      expect(await peer.tryAcquire([{ ...tenant, slots: 8 }], 6_001)).toBeGreaterThan(0);
      expect(await peer.tryAcquire([{ ...tenant, slots: 7 }], 6_002)).toBe(0);
      expect(await limiter.tryAcquire([tenant], 6_003)).toBeGreaterThan(0);
      // A minute of groups of 10, timers 0-5 ms late: ≥ 95 % of the ceiling, no window over 50.
      const rnd = fc.sample(fc.double({ min: 0, max: 5, noNaN: true }), { numRuns: 1_000, seed: 7 });
      const admitted: number[] = [];
      let now = 10_000;
      let late = 0;
      while (now < 70_000) {
        clock.t = now;
        const wait = await limiter.tryAcquire([{ ...tenant, slots: 10 }], now);
        if (wait === 0) for (let n = 0; n < 10; n++) admitted.push(now);
        else now += wait + rnd[late++ % rnd.length]!;
      }
      assertNoWindowExceeded(admitted, tenant.policy, "tenant");
      expect(admitted.length).toBeGreaterThanOrEqual(Math.ceil(0.95 * 50 * 60));
    });

    it("honours block() exactly, only for its key, never shortened, also on a key without limits", async () => {
      const clock = simClock();
      const { limiter, peer } = await harness.fresh({}, clock);
      const conv: BucketKey = { key: "blk-conv", policy: tenantPolicy(50) };
      const other: BucketKey = { key: "blk-other", policy: tenantPolicy(50) };
      const unlimited: BucketKey = { key: "blk-unlimited", policy: tenantPolicy(0) };
      clock.t = 1_000;
      await limiter.block(conv.key, 6_000);
      await peer.block(conv.key, 5_500); // earlier: must not shorten the block
      await limiter.block(unlimited.key, 2_000);
      expect(await limiter.tryAcquire([conv], 1_000)).toBe(5_000);
      expect(await limiter.tryAcquire([unlimited], 1_999)).toBe(1);
      expect(await limiter.tryAcquire([unlimited], 2_000)).toBe(0);
      expect(await peer.tryAcquire([conv], 5_999)).toBe(1);
      expect(await limiter.tryAcquire([other], 5_999)).toBe(0);
      expect(await limiter.tryAcquire([conv], 6_000)).toBe(0);
      // A block in the past changes nothing.
      await limiter.block(other.key, 100);
      expect(await limiter.tryAcquire([other], 7_000)).toBe(0);
    });

    it("is atomic: a refusal by one bucket takes nothing from the others, and the wait is the largest", async () => {
      const clock = simClock();
      const { limiter } = await harness.fresh({}, clock);
      const one: BucketKey = { key: "atom-one", policy: [{ limit: 1, windowMs: 1_000 }] };
      const five: BucketKey = { key: "atom-five", policy: [{ limit: 5, windowMs: 1_000, burst: 5 }] };
      expect(await limiter.tryAcquire([one], 0)).toBe(0);
      for (let i = 0; i < 10; i++) expect(await limiter.tryAcquire([one, five], 0)).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) expect(await limiter.tryAcquire([five], 0)).toBe(0);
      expect(await limiter.tryAcquire([five], 0)).toBeGreaterThan(0);
      // The wait answered is the largest over the buckets, blocks included.
      await limiter.block(five.key, 3_000);
      expect(await limiter.tryAcquire([one, five], 10)).toBe(2_990);
    });

    it("admits exactly `burst` of many concurrent requests, through two handles on the same state", async () => {
      const clock = simClock();
      const { limiter, peer } = await harness.fresh({}, clock);
      const b: BucketKey = { key: "conc", policy: [{ limit: 10, windowMs: 1_000, burst: 10 }] };
      const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? peer : limiter).tryAcquire([b], 500)));
      expect(answers.filter((w) => w === 0)).toHaveLength(10);
    });

    it("rejects a key passed twice in one call", async () => {
      const { limiter } = await harness.fresh({}, simClock());
      const b: BucketKey = { key: "dup", policy: tenantPolicy(5) };
      await expect(limiter.tryAcquire([b, b], 0)).rejects.toMatchObject({ code: "HERALD_E_LIMITER_USAGE" });
    });
  });
}
