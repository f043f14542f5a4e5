import { expect, it } from "vitest";
import { Batcher } from "../../src/delivery/dispatch/batcher.js";

it("a lone lazy item is written after lazyMs; drain writes lazy items at once; max splits", async () => {
  const flushed: number[][] = [];
  const b = new Batcher<number, number>(
    async (xs) => {
      flushed.push(xs);
      return xs;
    },
    { max: 2, delayMs: 0, lazyMs: 25 },
  );
  const t0 = Date.now();
  await b.add(1, true);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(20);
  const p = [b.add(2, true), b.add(3, true), b.add(4, true)];
  const t1 = Date.now();
  await b.drain();
  expect(Date.now() - t1).toBeLessThan(20);
  await Promise.all(p);
  expect(b.backlog).toBe(0);
  // lazy + urgent in the same turn go together
  const q = [b.add(5, true), b.add(6)];
  await Promise.all(q);
  expect(flushed.at(-1)).toEqual([5, 6]);
});
