import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { type Clock, systemClock } from "../../src/clock.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import { conversationSendPolicy, type LimitPolicy, tenantPolicy } from "../../src/delivery/limits/policy.js";
import type { BucketKey } from "../../src/delivery/limits/rate-limiter.js";
import { RedisRateLimiter } from "../../src/delivery/limits/redis.js";
import { rateLimiterContract, simClock } from "./limiter-contract.js";

// Two connections: two Herald processes sharing one Redis.
const a = new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: 2 });
const b = new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: 2 });
const root = `herald-test:limiter:${randomUUID()}:`;
let namespaces = 0;

afterAll(async () => {
  let cursor = "0";
  do {
    const [next, keys] = await a.scan(cursor, "MATCH", `${root}*`, "COUNT", 1_000);
    if (keys.length > 0) await a.del(...keys);
    cursor = next;
  } while (cursor !== "0");
  await Promise.all([a.quit(), b.quit()]);
});

rateLimiterContract("redis", {
  runs: 60,
  fresh: (options, clock) => {
    const prefix = `${root}${namespaces++}:`;
    return {
      // The contract runs in simulated time: the algorithm and its atomicity across two
      // connections. Redis's own clock (the default) is tested in real time below.
      limiter: new RedisRateLimiter({ ...options, redis: a, prefix, clock, time: "caller" }),
      peer: new RedisRateLimiter({ ...options, redis: b, prefix, clock, time: "caller" }),
    };
  },
});

describe("RedisRateLimiter", () => {
  it("decides exactly as the in-process limiter for the same requests", async () => {
    const policies: LimitPolicy[] = [conversationSendPolicy, tenantPolicy(50), [{ limit: 3, windowMs: 700, burst: 2 }]];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 300 }), mask: fc.integer({ min: 1, max: 7 }) }), { maxLength: 80 }),
        async (events) => {
          const clock = simClock();
          const redis = new RedisRateLimiter({ redis: a, prefix: `${root}${namespaces++}:`, clock, time: "caller" });
          const memory = new InProcessRateLimiter();
          const buckets: BucketKey[] = policies.map((policy, i) => ({ key: `diff-${i}`, policy }));
          let now = 5_000;
          for (const e of events) {
            now += e.gap;
            const mine = buckets.filter((_, i) => (e.mask >> i) & 1);
            expect(await redis.tryAcquire(mine, now)).toBe(await memory.tryAcquire(mine, now));
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("gives every key it writes a TTL no longer than the state matters plus the slack", async () => {
    const prefix = `${root}${namespaces++}:`;
    const clock = simClock();
    const limiter = new RedisRateLimiter({ redis: a, prefix, clock, ttlSlackMs: 1_000, time: "caller" });
    const tenant: BucketKey = { key: "tenant:t", policy: tenantPolicy(50) };
    let now = 0;
    for (let conversation = 0; conversation < 200; ) {
      clock.t = now;
      const wait = await limiter.tryAcquire([{ key: `send:c${conversation}`, policy: conversationSendPolicy }, tenant], now);
      if (wait === 0) conversation++;
      else now += wait;
    }
    await limiter.block("tenant:t", now + 30_000);
    const keys = await a.keys(`${prefix}*`);
    expect(keys.length).toBe(200 * 4 + 1 + 1);
    const ttls = await Promise.all(keys.map((k) => a.pttl(k)));
    // The longest-lived state: the hour window of a conversation, ~2.0 s, or the 30 s block; + 1 s slack.
    for (const ttl of ttls) {
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(31_000);
    }
    expect(ttls.filter((t) => t > 3_100)).toHaveLength(1);
  });

  it("loads its script when Redis answers NOSCRIPT (first use, restart, SCRIPT FLUSH)", async () => {
    const calls: string[] = [];
    // A client whose script cache is empty: EVALSHA fails once, EVAL must follow with the same keys and arguments.
    const forgetful = {
      evalsha: async () => {
        calls.push("evalsha");
        throw new Error("NOSCRIPT No matching script. Please use EVAL.");
      },
      eval: (...args: Parameters<Redis["eval"]>) => {
        calls.push("eval");
        return a.eval(...args);
      },
    } as unknown as Redis;
    const limiter = new RedisRateLimiter({ redis: forgetful, prefix: `${root}${namespaces++}:`, time: "caller" });
    expect(await limiter.tryAcquire([{ key: "k", policy: tenantPolicy(1) }], 1_000)).toBe(0);
    expect(await limiter.tryAcquire([{ key: "k", policy: tenantPolicy(1) }], 1_000)).toBeGreaterThan(0);
    expect(calls).toEqual(["evalsha", "eval", "evalsha", "eval"]);
  });
});

describe("RedisRateLimiter on Redis's clock (the default): processes whose clocks disagree share one timeline", () => {
  /** The system clock moved by `skewMs`: a process on a machine whose clock is off. */
  const skewed = (skewMs: number): Clock => ({ now: () => Date.now() + skewMs, sleep: systemClock.sleep });
  const pair = () => {
    const prefix = `${root}${namespaces++}:`;
    const behindClock = skewed(-5_000);
    const aheadClock = skewed(5_000);
    return {
      behind: { limiter: new RedisRateLimiter({ redis: a, prefix, clock: behindClock }), clock: behindClock },
      ahead: { limiter: new RedisRateLimiter({ redis: b, prefix, clock: aheadClock }), clock: aheadClock },
    };
  };
  const bucket: BucketKey = { key: "shared", policy: [{ limit: 10, windowMs: 1_000, burst: 10 }] };
  const takeAll = async (side: { limiter: RedisRateLimiter; clock: Clock }): Promise<number> => {
    let n = 0;
    while ((await side.limiter.tryAcquire([bucket], side.clock.now())) === 0) n++;
    return n;
  };

  it("a process 10 s ahead of another cannot take a second burst the other already took", async () => {
    const { behind, ahead } = pair();
    const first = await takeAll(behind);
    const second = await takeAll(ahead);
    expect(first).toBe(10);
    // Within a few ms of real time: the window holds 10, whoever's clock is right.
    expect(second).toBe(0);
  });

  it("a process 10 s behind another waits for the window after the other's burst (~1 s), not 10 s more", async () => {
    const { behind, ahead } = pair();
    expect(await takeAll(ahead)).toBe(10);
    const wait = await behind.limiter.tryAcquire([bucket], behind.clock.now());
    // The window of 1 s plus the limiter's margins, from the burst's moment.
    expect(wait).toBeGreaterThan(900);
    expect(wait).toBeLessThanOrEqual(1_100);
  });

  it("a block set by one process lasts its duration for the other, whatever their clocks say", async () => {
    const { behind, ahead } = pair();
    await ahead.limiter.block("blocked", ahead.clock.now() + 300);
    const wait = await behind.limiter.tryAcquire([{ key: "blocked", policy: tenantPolicy(50) }], behind.clock.now());
    expect(wait).toBeGreaterThan(200);
    expect(wait).toBeLessThanOrEqual(300);
  });
});
