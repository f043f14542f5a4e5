import { expect, it } from "vitest";
import { Batcher } from "../../src/delivery/dispatch/batcher.js";

/** Gates the flushes: each waits until the test opens it. */
function gated() {
  const batches: number[][] = [];
  const opens: (() => void)[] = [];
  const flush = async (items: number[]) => {
    batches.push(items);
    await new Promise<void>((r) => opens.push(r));
    return items.map((i) => i * 10);
  };
  return { batches, opens, flush };
}

const turn = () => new Promise((r) => setImmediate(r));

it("concurrency 2: the next write starts while one runs, a third waits for one to end, taking all that waits", async () => {
  const { batches, opens, flush } = gated();
  const b = new Batcher<number, number>(flush, { max: 100, delayMs: 0, concurrency: 2 });
  const first = b.add(1);
  await turn();
  const second = b.add(2);
  await turn();
  expect(batches).toEqual([[1], [2]]); // two in flight
  const later = [3, 4, 5].map((i) => b.add(i));
  for (let i = 0; i < 5; i++) await turn();
  expect(batches).toHaveLength(2); // a third waits
  opens[0]!();
  expect(await first).toBe(10);
  for (let i = 0; i < 5 && batches.length < 3; i++) await turn();
  expect(batches).toEqual([[1], [2], [3, 4, 5]]);
  opens[1]!();
  opens[2]!();
  expect(await Promise.all([second, ...later])).toEqual([20, 30, 40, 50]);
  await b.drain();
  expect(b.backlog).toBe(0);
});

it("an item added after a write's answer never goes in that write (a result never overtakes its own mark)", async () => {
  const { batches, opens, flush } = gated();
  const b = new Batcher<number, number>(flush, { max: 100, delayMs: 0, concurrency: 2 });
  const mark = b.add(1);
  await turn();
  opens[0]!();
  await mark;
  const result = b.add(-1, 50);
  const drained = b.drain();
  for (let i = 0; i < 5 && batches.length < 2; i++) await turn();
  opens[1]!();
  await Promise.all([result, drained]);
  expect(batches).toEqual([[1], [-1]]);
});

it("by default one write at a time", async () => {
  const { batches, opens, flush } = gated();
  const b = new Batcher<number, number>(flush, { max: 100, delayMs: 0 });
  const first = b.add(1);
  await turn();
  const second = b.add(2);
  for (let i = 0; i < 5; i++) await turn();
  expect(batches).toEqual([[1]]);
  opens[0]!();
  await first;
  for (let i = 0; i < 5 && batches.length < 2; i++) await turn();
  opens[1]!();
  expect(await second).toBe(20);
  expect(batches).toEqual([[1], [2]]);
});
