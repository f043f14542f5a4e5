import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { tenantPolicy } from "../../src/delivery/limits/policy.js";
import type { BucketKey } from "../../src/delivery/limits/rate-limiter.js";
import { RedisRateLimiter } from "../../src/delivery/limits/redis.js";
import { assertNoWindowExceeded, simClock } from "./limiter-contract.js";

/**
 * Review (revtick2): a tenant window's Redis key is named without its group (compileWindow: "processes
 * of two versions (grouped or not) share the same key during a rolling upgrade"), so a process with
 * HERALD_TENANT_TICK=1 and one with 10 share one bucket: during a rolling change of the setting,
 * or with one process configured apart. A plain request costs 1/50 of the window, a tick of 10
 * costs 1/5 but its 10 requests leave at once: a tick opened right after a second of plain
 * requests puts ~58 requests in one second (Teams: 50/s per tenant; each 429 costs the tenant).
 */
const redis = new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: 2 });
const prefix = `herald-test:tick-mixed:${randomUUID()}:`;

afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe("redis: processes with different HERALD_TENANT_TICK sharing a tenant", () => {
  it("never admit more than the tenant's limit in any window", async () => {
    const clock = simClock();
    const plainProcess = new RedisRateLimiter({ redis, prefix, clock, time: "caller" });
    const tickProcess = new RedisRateLimiter({ redis, prefix, clock, time: "caller" });
    const plain: BucketKey = { key: "tenant:t1", policy: tenantPolicy(50, 1) };
    const ticks: BucketKey = { key: "tenant:t1", policy: tenantPolicy(50, 10), slots: 10 };
    expect(ticks.policy[0]!.group).toBe(10);
    const admitted: number[] = [];
    let now = 1_000_000;
    // One process sends one by one at the ceiling for a while (1.2 s first), then the other takes
    // its next tick as soon as it may; again, with shorter and longer runs between ticks.
    for (const run of [1_200, 30, 400, 0, 900, 210, 1_500, 100]) {
      for (const end = now + run; now < end; ) {
        clock.t = now;
        const wait = await plainProcess.tryAcquire([plain], now);
        if (wait === 0) admitted.push(now);
        else now += wait;
      }
      for (;;) {
        clock.t = now;
        const wait = await tickProcess.tryAcquire([ticks], now);
        if (wait === 0) {
          for (let i = 0; i < 10; i++) admitted.push(now);
          break;
        }
        now += wait;
      }
    }
    assertNoWindowExceeded(admitted, plain.policy, "tenant");
  });
});
