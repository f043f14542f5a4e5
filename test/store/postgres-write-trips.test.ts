import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { leasedKey } from "../../src/delivery/model.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import type { Store } from "../../src/store/ports.js";
import { conversationRows } from "../helpers/rows.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * The dispatcher's batched write on PostgreSQL is a handful of round trips, and on a busy machine
 * each costs milliseconds of waiting for the server (issue 14): the statements it sends are
 * counted here (every pooled client's `query`), not timed.
 */
const stores = createStoreFactory("postgres");
let store: Store;
let d: DeliveryStore;
const t0 = Date.parse("2025-03-01T09:00:00.000Z");
const sent: string[] = [];
let counting = false;
const query = pg.Client.prototype.query;

beforeAll(async () => {
  store = await stores.open();
  d = store.deliveries;
  // biome-ignore lint/suspicious/noExplicitAny: wrapping pg's overloaded `query` to count what it sends
  pg.Client.prototype.query = function (this: pg.Client, ...args: any[]) {
    const text: unknown = typeof args[0] === "string" ? args[0] : args[0]?.text;
    if (counting) sent.push(String(text).replace(/\s+/g, " ").slice(0, 40));
    return (query as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pg.Client.prototype.query;
});
afterAll(async () => {
  pg.Client.prototype.query = query;
  await stores.cleanup();
});

const rows = conversationRows;

async function counted<T>(fn: () => Promise<T>): Promise<{ value: T; statements: string[] }> {
  sent.length = 0;
  counting = true;
  try {
    const value = await fn();
    return { value, statements: [...sent] };
  } finally {
    counting = false;
  }
}

it("a write of marks and results is 4 statements (begin, lock + marks, rows + counters, commit); the last result adds the finish", async () => {
  const { notification: x } = await d.createNotification(
    {
      id: "n_trips",
      createdBy: "k",
      requestHash: "h",
      audience: { conversations: ["a:0", "a:1", "a:2", "a:3"] },
      message: { text: "x" },
      createdAt: t0,
      expansionDone: true,
    },
    rows(4),
  );
  const jobs = await d.claim("w1", x.id, "t1", t0 + 1, 10);
  expect(jobs.map((j) => j.seq)).toEqual([0, 1, 2, 3]);
  const key = (seq: number) => leasedKey(jobs[seq]!);

  const first = await counted(() => d.writeBatch("w1", { marks: [key(0), key(1), key(2)], results: [] }, t0 + 2));
  expect(first.value.marked).toHaveLength(3);
  expect(first.statements).toHaveLength(3); // begin, lock + marks, commit

  const second = await counted(() =>
    d.writeBatch(
      "w1",
      {
        marks: [key(3), key(3)],
        results: [
          { ...key(0), kind: "sent", attempts: 1, activityId: "100", version: 1 },
          { ...key(1), kind: "final", status: "blocked", attempts: 1, error: { code: "403/X", message: "" } },
        ],
      },
      t0 + 3,
    ),
  );
  expect(second.value.marked).toEqual([key(3)]);
  expect(second.value.versions.get(x.id)).toBe(1);
  expect(second.value.finished).toEqual([]);
  expect(second.statements).toHaveLength(4);
  expect((await d.getNotification(x.id))?.counts).toMatchObject({ pending: 2, sent: 1, blocked: 1 });

  // A worker that does not hold a row neither marks nor settles it, nor counts it.
  const other = await counted(() =>
    d.writeBatch("w2", { marks: [key(2)], results: [{ ...key(2), kind: "sent", attempts: 1, activityId: "1", version: 1 }] }, t0 + 4),
  );
  expect(other.value.marked).toEqual([]);
  expect((await d.getNotification(x.id))?.counts).toMatchObject({ pending: 2, sent: 1, blocked: 1 });

  const last = await counted(() =>
    d.writeBatch(
      "w1",
      {
        marks: [],
        results: [
          { ...key(2), kind: "sent", attempts: 1, activityId: "102", version: 1 },
          { ...key(3), kind: "sent", attempts: 1, activityId: "103", version: 1 },
        ],
      },
      t0 + 5,
    ),
  );
  expect(last.value.finished).toEqual([x.id]);
  expect(last.statements).toHaveLength(5); // begin, lock, rows + counters, finish, commit
  const done = await d.getNotification(x.id);
  expect(done).toMatchObject({ status: "completed", active: false, counts: { pending: 0, sent: 3, blocked: 1 } });
});
