import { afterAll, expect, it } from "vitest";
import type { AnswerInput, ResponseStore } from "../../src/store/responses.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * Two Herald processes on one PostgreSQL write answer batches at the same time. The same people
 * in both batches (a click handled twice, by two processes) must not deadlock: a deadlock fails a
 * whole batch, and everyone in it is told nothing was recorded.
 */
const stores = createStoreFactory("postgres");
afterAll(() => stores.cleanup());

it("batches naming the same people in opposite orders, from two processes, never deadlock", async () => {
  const one = (await stores.open()).responses as ResponseStore;
  const two = (await stores.open()).responses as ResponseStore;
  const input = (notificationId: string, userId: string): AnswerInput => ({
    notificationId,
    deliverySeq: 1,
    tenantId: "t1",
    userId,
    kind: "ack",
    options: [],
    anonymous: false,
    optionCount: 0,
    at: new Date().toISOString(),
  });
  const people = Array.from({ length: 40 }, (_, i) => `29:u${i}`);
  for (let round = 0; round < 15; round++) {
    const n = `dl-${round}`;
    const forward = people.map((u) => input(n, u));
    const backward = [...forward].reverse();
    const [a, b] = await Promise.all([one.answerMany(forward), two.answerMany(backward)]);
    const stored = [...a, ...b].filter((o) => o.stored).length;
    expect(stored).toBe(people.length);
  }
}, 60_000);
