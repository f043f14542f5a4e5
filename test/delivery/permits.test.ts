import { describe, expect, it } from "vitest";
import { Permits } from "../../src/delivery/dispatch/permits.js";

/** Review (revtick2): Permits.acquireMany (all or none, FIFO) had no test of its own. */
describe("Permits", () => {
  const flush = () => new Promise((r) => setImmediate(r));

  it("takes many at once, all or none, and a release of several wakes every waiter it satisfies, in order", async () => {
    const p = new Permits(4);
    await p.acquireMany(3);
    expect(p.inUse).toBe(3);
    const order: string[] = [];
    const big = p.acquireMany(3).then(() => order.push("big"));
    const small = p.acquire().then(() => order.push("small"));
    await flush();
    // One is free, but the big waiter is first: the small one is not let past it (FIFO).
    expect(order).toEqual([]);
    expect(p.inUse).toBe(3);
    expect(p.tryAcquire()).toBe(false); // someone waits: no taking past them
    p.release(2); // 3 free: the big one goes; none left for the small one
    await flush();
    expect(order).toEqual(["big"]);
    expect(p.inUse).toBe(4);
    p.release(3);
    await Promise.all([big, small]);
    expect(order).toEqual(["big", "small"]);
    expect(p.inUse).toBe(2);
    p.release(2);
    expect(p.inUse).toBe(0);
    expect(p.tryAcquire()).toBe(true);
    p.release();
  });

  it("refuses more than its size at once, or less than one", async () => {
    const p = new Permits(2);
    await expect(p.acquireMany(3)).rejects.toBeInstanceOf(RangeError);
    await expect(p.acquireMany(0)).rejects.toBeInstanceOf(RangeError);
    expect(p.inUse).toBe(0);
  });

  it("never deadlocks callers that each want part of the permits (the 20-lane hold-and-wait)", async () => {
    const p = new Permits(10);
    let done = 0;
    const lane = async () => {
      for (let i = 0; i < 50; i++) {
        await p.acquireMany(7);
        await flush();
        p.release(7);
        await p.acquire();
        p.release();
        done++;
      }
    };
    await Promise.all(Array.from({ length: 20 }, lane));
    expect(done).toBe(1_000);
    expect(p.inUse).toBe(0);
  });
});
