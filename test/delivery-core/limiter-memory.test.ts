import { describe, expect, it } from "vitest";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import { conversationSendPolicy, tenantPolicy } from "../../src/delivery/limits/policy.js";
import type { BucketKey } from "../../src/delivery/limits/rate-limiter.js";
import { assertNoWindowExceeded, rateLimiterContract } from "./limiter-contract.js";

rateLimiterContract("in process", {
  runs: 300,
  fresh: (options) => {
    const limiter = new InProcessRateLimiter(options);
    return { limiter, peer: limiter };
  },
});

describe("InProcessRateLimiter memory", () => {
  it("holds only recently active keys during a 10,000-conversation broadcast and returns to 0 when idle", async () => {
    const limiter = new InProcessRateLimiter();
    const tenant: BucketKey = { key: "tenant:t1", policy: tenantPolicy(50) };
    const sent: number[] = [];
    let now = 0;
    let maxSize = 0;
    for (let conversation = 0; conversation < 10_000; ) {
      const wait = await limiter.tryAcquire([{ key: `send:c${conversation}`, policy: conversationSendPolicy }, tenant], now);
      if (wait === 0) {
        sent.push(now);
        conversation++;
      } else now += wait;
      maxSize = Math.max(maxSize, limiter.size);
    }
    assertNoWindowExceeded(sent, tenant.policy, "tenant");
    // A conversation's 4 windows matter for ~2 s after its send: ~100 conversations at 49/s.
    expect(maxSize).toBeLessThan(1_500);
    // Traffic on other keys later sweeps the old entries away incrementally…
    const later = now + 3_600_000;
    for (let i = 0; i < 1_000; i++) await limiter.tryAcquire([{ key: "send:other", policy: tenantPolicy(0) }], later);
    expect(limiter.size).toBeLessThanOrEqual(1);
    // …and sweep() drops everything that no longer matters at once.
    await limiter.block("tenant:t1", later + 1_000);
    await limiter.tryAcquire([tenant], later);
    limiter.sweep(later + 10_000);
    expect(limiter.size).toBe(0);
  });

  it("keeps a key's states under several policies apart, and across a generation keeps the live ones whatever their order", async () => {
    const short = [{ limit: 1, windowMs: 1_000 }];
    const long = [{ limit: 2, windowMs: 10_000, burst: 2 }];
    const longer = [{ limit: 3, windowMs: 20_000, burst: 3 }];
    for (const order of [
      [long, short, longer],
      [short, longer, long],
      [longer, long, short],
    ]) {
      const limiter = new InProcessRateLimiter();
      const take = (policy: typeof short, now: number) => limiter.tryAcquire([{ key: "send:k", policy }], now);
      for (const policy of order) expect(await take(policy, 0)).toBe(0);
      expect(await take(long, 1)).toBe(0);
      expect(await take(long, 2)).toBeGreaterThan(0);
      expect(await take(longer, 2)).toBe(0);
      expect(await take(longer, 2)).toBe(0);
      expect(await take(longer, 3)).toBeGreaterThan(0);
      expect(await take(short, 3)).toBeGreaterThan(0);
      expect(limiter.size).toBe(3);
      // A later generation: the short window's state has expired and goes (size counts a key's
      // states once, in whichever generation); the others stay, still full.
      expect(await take(long, 2_500)).toBeGreaterThan(0);
      expect(limiter.size).toBe(2);
      expect(await take(longer, 2_500)).toBeGreaterThan(0);
      expect(await take(short, 2_600)).toBe(0);
      expect(limiter.size).toBe(3);
      expect(await take(short, 2_700)).toBeGreaterThan(0);
      // The next generation turns while the key's chain is in both maps (taken over at 2,500, a
      // state added in front at 2,600): every state is still live and full, each deciding alone.
      expect(await take(short, 3_550)).toBeGreaterThan(0);
      expect(await take(long, 3_550)).toBeGreaterThan(0);
      expect(await take(longer, 3_550)).toBeGreaterThan(0);
      expect(limiter.size).toBe(3);
    }
  });

  it("refuses malformed policies and options with a coded error", async () => {
    expect(() => new InProcessRateLimiter({ marginMs: -1 })).toThrow(/HERALD_E_LIMIT_POLICY/);
    const limiter = new InProcessRateLimiter();
    await expect(limiter.tryAcquire([{ key: "k", policy: [{ limit: 0, windowMs: 1_000 }] }], 0)).rejects.toThrow(/HERALD_E_LIMIT_POLICY/);
    await expect(limiter.tryAcquire([{ key: "k", policy: [{ limit: 3, windowMs: 1_000, burst: 4 }] }], 0)).rejects.toThrow(/burst/);
  });
});
