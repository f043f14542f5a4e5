import { expect, it } from "vitest";
import { Batcher } from "../../src/delivery/dispatch/batcher.js";

function recording(max: number) {
  const flushed: { items: number[]; at: number }[] = [];
  const t0 = performance.now();
  const b = new Batcher<number, number>(
    async (xs) => {
      flushed.push({ items: xs, at: performance.now() - t0 });
      return xs;
    },
    { max, delayMs: 0 },
  );
  return { b, flushed, t0 };
}

it("a lone item that may wait is written after its wait; drain writes waiting items at once; max splits", async () => {
  const { b, flushed } = recording(2);
  const t0 = Date.now();
  await b.add(1, 25);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(20);
  const p = [b.add(2, 10_000), b.add(3, 10_000), b.add(4, 10_000)];
  const t1 = Date.now();
  await b.drain();
  expect(Date.now() - t1).toBeLessThan(5_000);
  await Promise.all(p);
  expect(b.backlog).toBe(0);
  // waiting + urgent in the same turn go together
  const q = [b.add(5, 25), b.add(6)];
  await Promise.all(q);
  expect(flushed.map((f) => f.items)).toEqual([[1], [2, 3], [4], [5, 6]]);
});

it("items with different waits share one write, at the earliest of their times (a staged mark does not wait for a result's 100 ms)", async () => {
  const { b, flushed } = recording(100);
  // A result (may wait long), then marks of two lanes a few ms apart (may wait 40 ms): one write,
  // when the first mark's 40 ms are up, not at the result's 2 s nor at the second mark's time.
  const result = b.add(1, 2_000);
  const first = b.add(2, 40);
  await new Promise((r) => setTimeout(r, 15));
  const second = b.add(3, 40);
  expect(await Promise.all([result, first, second])).toEqual([1, 2, 3]);
  expect(flushed.map((f) => f.items)).toEqual([[1, 2, 3]]);
  expect(flushed[0]!.at).toBeGreaterThanOrEqual(35);
  expect(flushed[0]!.at).toBeLessThan(1_000);
  // A later item with a shorter wait brings the write forward...
  let started = performance.now();
  const slow = b.add(4, 2_000);
  const fast = b.add(5, 10);
  await Promise.all([slow, fast]);
  expect(performance.now() - started).toBeLessThan(1_000);
  expect(flushed.at(-1)?.items).toEqual([4, 5]);
  // ...and one with a longer wait does not put it off (results keep coming while marks wait).
  started = performance.now();
  const mark = b.add(6, 10);
  const results = [b.add(7, 2_000), b.add(8, 2_000)];
  await Promise.all([mark, ...results]);
  expect(performance.now() - started).toBeLessThan(1_000);
  expect(flushed.at(-1)?.items).toEqual([6, 7, 8]);
});

it("an item whose wait is up flushes then, not batchDelayMs later", async () => {
  const flushed: number[] = [];
  const b = new Batcher<number, number>(
    async (xs) => {
      flushed.push(performance.now());
      return xs;
    },
    { max: 100, delayMs: 2_000 },
  );
  const started = performance.now();
  await b.add(1, 10);
  expect(flushed[0]! - started).toBeLessThan(1_000);
});
