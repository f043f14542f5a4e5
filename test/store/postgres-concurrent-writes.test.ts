import { afterAll, expect, it } from "vitest";
import { type JobResult, type LeasedKey, leasedKey, type NewDelivery } from "../../src/delivery/model.js";
import { conversationRows } from "../helpers/rows.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * PostgreSQL, where the dispatcher runs two batched writes at once (Batcher `concurrency: 2`):
 * two workers, each with two concurrent writes over the same notifications (in opposite orders),
 * a recall, an edit and a recovery that takes both workers' rows meanwhile (their heartbeats are
 * missing: as if they had stalled). No write may fail (a deadlock fails one) and each
 * notification's counters must equal its rows.
 */
const stores = createStoreFactory("postgres");
afterAll(() => stores.cleanup());
const t0 = Date.parse("2025-03-01T09:00:00.000Z");
const ROWS = 60;

const rows = (): NewDelivery[] => conversationRows(ROWS);

it("concurrent writes with a recall, an edit and a recovery: no deadlock, the counters equal the rows", async () => {
  const d = (await stores.open()).deliveries;
  const ids: string[] = [];
  for (let k = 0; k < 6; k++) {
    const { notification } = await d.createNotification(
      {
        id: `n_${k}`,
        createdBy: "k",
        requestHash: `h${k}`,
        audience: { conversations: rows().map((r) => r.conversationId!) },
        message: { text: "x" },
        createdAt: t0,
        expansionDone: true,
      },
      rows(),
    );
    ids.push(notification.id);
  }
  const now = () => Date.now();
  const worker = async (owner: string) => {
    for (let round = 0; round < 40; round++) {
      const jobs = (await Promise.all(ids.map((id) => d.claim(owner, id, "t1", now() + 1e9, 3)))).flat();
      if (jobs.length === 0) return;
      const sends: LeasedKey[] = jobs.filter((j) => j.op === "send").map(leasedKey);
      const half = Math.ceil(sends.length / 2);
      const [a, b] = await Promise.all([
        d.writeBatch(owner, { marks: sends.slice(0, half).reverse(), results: [] }, now()),
        d.writeBatch(owner, { marks: sends.slice(half), results: [] }, now()),
      ]);
      const results: JobResult[] = [...a.marked, ...b.marked].map((k, i) =>
        i % 4 === 0
          ? { ...k, kind: "retry", op: "send", attempts: 1, firstAttemptAt: now(), dueAt: now(), error: { code: "429", message: "" } }
          : { ...k, kind: "sent", attempts: 1, activityId: `x${k.notificationId}:${k.seq}`, version: 1 },
      );
      for (const j of jobs) {
        const k = leasedKey(j);
        if (j.op === "edit") results.push({ ...k, kind: "edited", attempts: 1, version: 2 });
        if (j.op === "delete") results.push({ ...k, kind: "deleted", attempts: 1 });
      }
      const mid = Math.floor(results.length / 2);
      await Promise.all([
        d.writeBatch(owner, { marks: [], results: results.slice(0, mid) }, now()),
        d.writeBatch(owner, { marks: [], results: results.slice(mid).reverse() }, now()),
      ]);
    }
  };
  const control = async () => {
    await new Promise((r) => setTimeout(r, 50));
    await d.requestRecall(ids[2]!, now());
    await d.requestEdit(ids[4]!, { text: "y" }, now());
    await d.recover("w9", now() - 1, "unknown", now(), false);
  };
  await Promise.all([worker("w1"), worker("w2"), control()]);
  for (const id of ids) {
    const n = (await d.getNotification(id))!;
    const byStatus: Record<string, number> = {};
    for (const r of (await d.listDeliveries(id, {}, { limit: 1000 })).items) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    expect({ id, counts: Object.fromEntries(Object.entries(n.counts).filter(([, v]) => v !== 0)) }).toEqual({ id, counts: byStatus });
    expect(Object.values(n.counts).reduce((s, v) => s + v, 0)).toBe(n.total);
  }
}, 60_000);
