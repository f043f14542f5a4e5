import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
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
      limiter: new RedisRateLimiter({ ...options, redis: a, prefix, clock }),
      peer: new RedisRateLimiter({ ...options, redis: b, prefix, clock }),
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
          const redis = new RedisRateLimiter({ redis: a, prefix: `${root}${namespaces++}:`, clock });
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
    const limiter = new RedisRateLimiter({ redis: a, prefix, clock, ttlSlackMs: 1_000 });
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
    const limiter = new RedisRateLimiter({ redis: forgetful, prefix: `${root}${namespaces++}:` });
    expect(await limiter.tryAcquire([{ key: "k", policy: tenantPolicy(1) }], 1_000)).toBe(0);
    expect(await limiter.tryAcquire([{ key: "k", policy: tenantPolicy(1) }], 1_000)).toBeGreaterThan(0);
    expect(calls).toEqual(["evalsha", "eval", "evalsha", "eval"]);
  });
});
