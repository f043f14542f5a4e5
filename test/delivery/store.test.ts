import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type JobResult, leasedKey, type NewDelivery, type Notification } from "../../src/delivery/model.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import type { Store } from "../../src/store/ports.js";
import { conversationRows } from "../helpers/rows.js";
import { ageHeartbeat, forEachStore, rawRows, testPostgresUrl } from "../helpers/stores.js";

/** The delivery store's contract, on SQLite and PostgreSQL: claims, leases, counters, recovery. */
forEachStore((stores) => {
  let store: Store;
  let d: DeliveryStore;
  let n = 0;
  const t0 = Date.parse("2025-03-01T09:00:00.000Z");

  beforeAll(async () => {
    store = await stores.open();
    d = store.deliveries;
  });
  afterAll(async () => {
    await stores.cleanup();
  });

  const rows = conversationRows;
  const create = async (r: NewDelivery[], extra: { idempotencyKey?: string; expansionDone?: boolean } = {}): Promise<Notification> => {
    n++;
    const { notification } = await d.createNotification(
      {
        id: `n_test${String(n).padStart(4, "0")}`,
        createdBy: "k",
        requestHash: "h",
        audience: { conversations: r.map((x) => x.conversationId ?? "") },
        message: { text: "x" },
        createdAt: t0,
        expansionDone: extra.expansionDone ?? true,
        idempotencyKey: extra.idempotencyKey,
      },
      r,
    );
    return notification;
  };
  const sum = (x: Notification) => Object.values(x.counts).reduce((a, b) => a + b, 0);

  it("stores a notification with its rows and counters; duplicate recipients count once", async () => {
    const x = await create([
      ...rows(3),
      { ...rows(1)[0]!, status: "pending" },
      { recipientKey: "conv:b", kind: "conversation", tenantId: "t1", status: "optedOut" },
    ]);
    expect(x).toMatchObject({ status: "queued", total: 4, counts: { pending: 3, optedOut: 1 }, active: true });
    const page = await d.listDeliveries(x.id, {}, { limit: 10 });
    expect(page.items.map((r) => r.seq)).toEqual([0, 1, 2, 3]);
  });

  it("idempotency: the same (key id, idempotency key) returns the stored notification", async () => {
    const a = await create(rows(1), { idempotencyKey: "same" });
    const again = await d.createNotification(
      {
        id: "n_other",
        createdBy: "k",
        requestHash: "h",
        idempotencyKey: "same",
        audience: { all: true },
        message: {},
        createdAt: t0,
        expansionDone: true,
      },
      rows(5),
    );
    expect(again.created).toBe(false);
    expect(again.notification.id).toBe(a.id);
  });

  it("claims lease rows once, in due order; in-flight marks and results move the counters; counts always add up", async () => {
    const x = await create(rows(10));
    const a = await d.claim("w1", x.id, "t1", t0 + 1, 4);
    const b = await d.claim("w2", x.id, "t1", t0 + 1, 100);
    expect(a.map((j) => j.seq)).toEqual([0, 1, 2, 3]);
    expect(b.map((j) => j.seq)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(await d.claim("w3", x.id, "t1", t0 + 1, 100)).toEqual([]);
    // A worker cannot mark or settle rows it does not hold.
    expect(await d.markInflight("w2", [leasedKey(a[0]!)], t0 + 2)).toEqual([]);
    expect(await d.markInflight("w1", a.slice(0, 3), t0 + 2)).toHaveLength(3);
    const results: JobResult[] = [
      { ...leasedKey(a[0]!), kind: "sent", attempts: 1, activityId: "100", version: 1 },
      {
        ...leasedKey(a[1]!),
        kind: "final",
        status: "blocked",
        attempts: 1,
        error: { code: "403/MessageWritesBlocked", message: "" },
      },
      {
        ...leasedKey(a[2]!),
        kind: "retry",
        op: "send",
        attempts: 1,
        firstAttemptAt: t0,
        dueAt: t0 + 5_000,
        error: { code: "503", message: "" },
      },
      // Row 4 is w2's: not written.
      { ...leasedKey(b[0]!), kind: "sent", attempts: 1, activityId: "999", version: 1 },
    ];
    await d.recordResults("w1", results, t0 + 3);
    const after = (await d.getNotification(x.id))!;
    expect(after.counts).toMatchObject({ pending: 8, sent: 1, blocked: 1 });
    expect(sum(after)).toBe(after.total);
    expect(await d.nextDue(x.id, "t1")).toBe(t0 + 5_000);
    expect(await d.claim("w3", x.id, "t1", t0 + 4_999, 10)).toEqual([]);
    expect((await d.claim("w3", x.id, "t1", t0 + 5_000, 10)).map((j) => j.seq)).toEqual([2]);
    const rowsNow = (await d.listDeliveries(x.id, {}, { limit: 20 })).items;
    expect(rowsNow[0]).toMatchObject({ status: "sent", activityId: "100" });
    expect(rowsNow[1]).toMatchObject({ status: "blocked", lastErrorCode: "403/MessageWritesBlocked" });
    expect(rowsNow[4]).toMatchObject({ status: "pending" });
  });

  it("several processes claiming at once never get the same row (PostgreSQL: FOR UPDATE SKIP LOCKED)", async () => {
    const x = await create(rows(300));
    const other = (await stores.open()).deliveries;
    const claimed: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async (_, k) => {
        const s = k % 2 ? d : other;
        for (;;) {
          const got = await s.claim(`p${k}`, x.id, "t1", t0 + 1, 17);
          if (got.length === 0) return;
          expect(got.length).toBeLessThanOrEqual(17);
          claimed.push(...got.map((j) => j.seq));
        }
      }),
    );
    expect(claimed).toHaveLength(300);
    expect(new Set(claimed).size).toBe(300);
  });

  it("recovery: a dead worker's claimed rows return to the pool; its in-flight sends become unknown (or ready again with resend)", async () => {
    const x = await create(rows(6));
    // Workers of the other tests stay alive: only "dead" is.
    for (const w of ["w", "w1", "w2", "w3", "p0", "p1", "p2", "p3", "p4", "p5"]) await d.heartbeat(w, t0 + 60_000);
    await d.heartbeat("dead", t0);
    await ageHeartbeat(stores, "dead", 3_600_000);
    await d.heartbeat("alive", t0 + 60_000);
    const jobs = await d.claim("dead", x.id, "t1", t0 + 1, 6);
    await d.markInflight("dead", jobs.slice(0, 2), t0 + 2);
    const r = await d.recover("alive", t0 + 30_000, "unknown", t0 + 60_000, false);
    expect(r).toEqual({ released: 4, unknown: 2, requeued: 0 });
    const after = (await d.getNotification(x.id))!;
    expect(after.counts).toMatchObject({ pending: 4, unknown: 2 });
    expect(sum(after)).toBe(after.total);
    expect(await d.claim("alive", x.id, "t1", t0 + 60_000, 10)).toHaveLength(4);
    // A live worker's rows are left alone.
    expect(await d.recover("alive", t0 + 30_000, "unknown", t0 + 60_000, false)).toEqual({ released: 0, unknown: 0, requeued: 0 });

    const y = await create(rows(3));
    await d.heartbeat("dead2", t0);
    await ageHeartbeat(stores, "dead2", 3_600_000);
    const jy = await d.claim("dead2", y.id, "t1", t0 + 1, 3);
    await d.markInflight("dead2", jy, t0 + 2);
    expect(await d.recover("alive", t0 + 30_000, "resend", t0 + 60_000, false)).toEqual({ released: 0, unknown: 0, requeued: 3 });
    expect((await d.getNotification(y.id))!.counts.pending).toBe(3);
  });

  it("recovery with resend: a dead worker's in-flight sends of a notification recalled meanwhile end unknown, never ready to be sent again", async () => {
    const x = await create(rows(3));
    await d.heartbeat("dead3", t0);
    await ageHeartbeat(stores, "dead3", 3_600_000);
    const jobs = await d.claim("dead3", x.id, "t1", t0 + 1, 3);
    await d.markInflight("dead3", jobs.slice(0, 2), t0 + 2);
    // The recall cancels the claimed row and leaves the two in flight to their (dead) sender.
    expect(await d.requestRecall(x.id, t0 + 3)).toMatchObject({ counts: { pending: 2, canceled: 1 } });
    expect(await d.recover("alive", t0 + 30_000, "resend", t0 + 60_000, false)).toEqual({ released: 0, unknown: 2, requeued: 0 });
    const after = (await d.getNotification(x.id))!;
    expect(after.counts).toMatchObject({ pending: 0, unknown: 2, canceled: 1 });
    expect(sum(after)).toBe(after.total);
    const page = await d.listDeliveries(x.id, { status: "unknown" }, { limit: 10 });
    expect(page.items.map((r) => [r.seq, r.lastErrorCode])).toEqual([
      [0, "HERALD_E_IN_FLIGHT"],
      [1, "HERALD_E_IN_FLIGHT"],
    ]);
    expect(page.items[0]!.lastErrorMessage).toMatch(/recalled meanwhile.*cannot delete/);
    expect(await d.claim("alive", x.id, "t1", t0 + 60_000, 10)).toEqual([]);
    expect(await d.finishIfDone([x.id], t0 + 61_000)).toEqual([x.id]);
  });

  it("a result under an ended lease in the same write as the current lease's result counts nothing", async () => {
    // An edit of a sent copy is in flight (lease L2); a recall takes the row over for a delete,
    // which the same process claims (L3) and sends; both answers land in one batched write.
    const x = await create(rows(1));
    const [job] = await d.claim("w", x.id, "t1", t0 + 1, 1);
    await d.markInflight("w", [leasedKey(job!)], t0 + 2);
    await d.recordResults("w", [{ ...leasedKey(job!), kind: "sent", attempts: 1, activityId: "a1", version: 1 }], t0 + 3);
    await d.requestEdit(x.id, { text: "v2" }, t0 + 4);
    const [edit] = await d.claim("w", x.id, "t1", t0 + 5, 1);
    expect(edit!.op).toBe("edit");
    await d.requestRecall(x.id, t0 + 6);
    const [del] = await d.claim("w", x.id, "t1", t0 + 7, 1);
    expect(del!.op).toBe("delete");
    await d.writeBatch(
      "w",
      {
        marks: [],
        results: [
          { ...leasedKey(edit!), kind: "edited", version: 2, attempts: 1 },
          { ...leasedKey(del!), kind: "deleted", attempts: 1 },
        ],
      },
      t0 + 8,
    );
    expect(await d.getNotification(x.id)).toMatchObject({
      edit: { pending: 0, done: 0 },
      recall: { pending: 0, done: 1 },
      status: "canceled",
      active: false,
    });
  });

  it("recovery judges others only while the recovering process's own heartbeat is recent (a statement run late, after an outage, takes nothing)", async () => {
    const x = await create(rows(2));
    await d.heartbeat("dead4", t0);
    await ageHeartbeat(stores, "dead4", 3_600_000);
    const jobs = await d.claim("dead4", x.id, "t1", t0 + 1, 2);
    await d.markInflight("dead4", jobs.slice(0, 1), t0 + 2);
    const now = t0 + 60_000;
    // The recovering process's own newest heartbeat is 20 s old: it lived through the outage too.
    await d.heartbeat("late", now - 20_000);
    await ageHeartbeat(stores, "late", 20_000);
    const snapshot = async () => ({
      deliveries: await rawRows(stores, "deliveries", "notification_id", x.id),
      notification: await rawRows(stores, "notifications", "id", x.id),
      dead: await rawRows(stores, "delivery_workers", "id", "dead4"),
    });
    const before = await snapshot();
    expect(before.dead).toHaveLength(1);
    expect(await d.recover("late", now - 30_000, "unknown", now, false, now - 12_500)).toEqual({ released: 0, unknown: 0, requeued: 0 });
    expect(await snapshot()).toEqual(before);
    // Its heartbeat is recent again: the dead worker's rows are taken over.
    await d.heartbeat("late", now);
    expect(await d.recover("late", now - 30_000, "unknown", now, false, now - 12_500)).toEqual({ released: 1, unknown: 1, requeued: 0 });
    expect((await d.getNotification(x.id))!.counts).toMatchObject({ pending: 1, unknown: 1 });
    expect(await rawRows(stores, "delivery_workers", "id", "dead4")).toEqual([]);
  });

  it("a recall cancels rows not in flight, queues deletes for sent copies; a send landing afterwards is queued for delete", async () => {
    const x = await create(rows(4));
    const jobs = await d.claim("w", x.id, "t1", t0 + 1, 4);
    await d.markInflight("w", jobs.slice(0, 2), t0 + 2);
    await d.recordResults("w", [{ ...leasedKey(jobs[0]!), kind: "sent", attempts: 1, activityId: "1", version: 1 }], t0 + 3);
    const recalled = (await d.requestRecall(x.id, t0 + 4))!;
    // Row 0 sent → delete queued; row 1 in flight → untouched; rows 2, 3 claimed (not in flight) → canceled.
    expect(recalled).toMatchObject({ status: "canceled", counts: { sent: 1, pending: 1, canceled: 2 }, recall: { pending: 1 } });
    expect(await d.markInflight("w", jobs.slice(2), t0 + 5)).toEqual([]);
    await d.recordResults("w", [{ ...leasedKey(jobs[1]!), kind: "sent", attempts: 1, activityId: "2", version: 1 }], t0 + 6);
    const after = (await d.getNotification(x.id))!;
    expect(after.counts).toMatchObject({ sent: 2, pending: 0, canceled: 2 });
    expect(after.recall.pending).toBe(2);
    expect(sum(after)).toBe(after.total);
    const deletes = await d.claim("w", x.id, "t1", t0 + 7, 10);
    expect(deletes.map((j) => [j.seq, j.op])).toEqual([
      [0, "delete"],
      [1, "delete"],
    ]);
    await d.recordResults(
      "w",
      deletes.map((j) => ({ ...leasedKey(j), kind: "deleted" as const, attempts: 1 })),
      t0 + 8,
    );
    expect(await d.finishIfDone([x.id], t0 + 9)).toEqual([x.id]);
    expect((await d.getNotification(x.id))!).toMatchObject({
      status: "canceled",
      active: false,
      recall: { pending: 0, done: 2, failed: 0 },
    });
  });

  it("an edit queues updates of sent copies; a result for an older version is queued again", async () => {
    const x = await create(rows(2));
    const jobs = await d.claim("w", x.id, "t1", t0 + 1, 2);
    await d.markInflight("w", jobs, t0 + 2);
    await d.recordResults("w", [{ ...leasedKey(jobs[0]!), kind: "sent", attempts: 1, activityId: "1", version: 1 }], t0 + 3);
    const edited = await d.requestEdit(x.id, { text: "v2" }, t0 + 4);
    expect(edited).toMatchObject({ ok: true, notification: { messageVersion: 2, edit: { pending: 1 } } });
    // Row 1 was in flight with version 1: when it lands it needs the update too.
    await d.recordResults("w", [{ ...leasedKey(jobs[1]!), kind: "sent", attempts: 1, activityId: "2", version: 1 }], t0 + 5);
    expect((await d.getNotification(x.id))!.edit.pending).toBe(2);
    const edits = await d.claim("w", x.id, "t1", t0 + 6, 10);
    expect(edits.map((j) => j.op)).toEqual(["edit", "edit"]);
    await d.requestEdit(x.id, { text: "v3" }, t0 + 7);
    await d.recordResults(
      "w",
      edits.map((j) => ({ ...leasedKey(j), kind: "edited" as const, version: 2, attempts: 1 })),
      t0 + 8,
    );
    // Both were edited to v2 while v3 exists: queued again, nothing done yet.
    expect((await d.getNotification(x.id))!.edit).toEqual({ pending: 2, done: 0, failed: 0 });
    const again = await d.claim("w", x.id, "t1", t0 + 9, 10);
    await d.recordResults(
      "w",
      again.map((j) => ({ ...leasedKey(j), kind: "edited" as const, version: 3, attempts: 1 })),
      t0 + 10,
    );
    expect((await d.getNotification(x.id))!.edit).toEqual({ pending: 0, done: 2, failed: 0 });
  });

  /** The notification's row and all its delivery rows, every column, as stored. */
  const state = async (id: string) => ({
    notification: await rawRows(stores, "notifications", "id", id),
    deliveries: await rawRows(stores, "deliveries", "notification_id", id),
  });

  it("a write replayed after its lease ended changes nothing: a release does not free a row leased and sent anew", async () => {
    // A batched write whose COMMIT went through but whose answer was lost is written again; the
    // same process may have claimed and marked the row anew in between.
    const x = await create(rows(1));
    const [first] = await d.claim("w", x.id, "t1", t0 + 1, 1);
    const release: JobResult = { ...leasedKey(first!), kind: "release" };
    await d.recordResults("w", [release], t0 + 2);
    const [again] = await d.claim("w", x.id, "t1", t0 + 3, 1);
    expect(again!.seq).toBe(first!.seq);
    expect(again!.lease).not.toBe(first!.lease);
    // A mark under the old lease takes nothing; under the new one it takes the row.
    expect(await d.markInflight("w", [leasedKey(first!)], t0 + 4)).toEqual([]);
    expect(await d.markInflight("w", [leasedKey(again!)], t0 + 4)).toEqual([leasedKey(again!)]);
    const before = await state(x.id);
    await d.recordResults("w", [release], t0 + 5);
    const out = await d.writeBatch("w", { marks: [leasedKey(first!)], results: [release] }, t0 + 6);
    expect(out.marked).toEqual([]);
    expect(await state(x.id)).toEqual(before);
    // The row stays in flight under its new lease: nobody can claim it and send it twice.
    expect(await d.claim("w", x.id, "t1", t0 + 7, 10)).toEqual([]);
  });

  it("a write replayed after its lease ended changes nothing: a send's result does not end the edit leased since", async () => {
    const x = await create(rows(1));
    const [job] = await d.claim("w", x.id, "t1", t0 + 1, 1);
    await d.markInflight("w", [leasedKey(job!)], t0 + 2);
    const sent: JobResult = { ...leasedKey(job!), kind: "sent", attempts: 1, activityId: "1", version: 1 };
    await d.recordResults("w", [sent], t0 + 3);
    await d.requestEdit(x.id, { text: "v2" }, t0 + 4);
    const [edit] = await d.claim("w", x.id, "t1", t0 + 5, 1);
    expect(edit).toMatchObject({ seq: job!.seq, op: "edit" });
    const before = await state(x.id);
    await d.recordResults("w", [sent], t0 + 6);
    await d.writeBatch("w", { marks: [], results: [{ ...leasedKey(job!), kind: "release" }] }, t0 + 7);
    expect(await state(x.id)).toEqual(before);
    await d.recordResults("w", [{ ...leasedKey(edit!), kind: "edited", version: 2, attempts: 1 }], t0 + 8);
    expect((await d.getNotification(x.id))!.edit).toEqual({ pending: 0, done: 1, failed: 0 });
    expect(await d.finishIfDone([x.id], t0 + 9)).toEqual([x.id]);
  });

  it("expansion pages append rows with their cursor; a page read twice adds nothing", async () => {
    const x = await create([], { expansionDone: false });
    expect(await d.claimExpansion(x.id, "w", t0)).toEqual({ cursor: undefined });
    expect(await d.claimExpansion(x.id, "other", t0)).toBeUndefined();
    expect(await d.appendDeliveries(x.id, "w", rows(3), { cursor: { after: 3 }, done: false }, t0)).toEqual({
      inserted: 3,
      tenants: ["t1"],
      accepted: true,
    });
    expect(
      await d.appendDeliveries(
        x.id,
        "w",
        rows(5, "t2")
          .map((r) => ({ ...r, recipientKey: `x${r.recipientKey}` }))
          .slice(0, 2)
          .concat(rows(3)),
        { cursor: { after: 5 }, done: true },
        t0,
      ),
    ).toMatchObject({ inserted: 2 });
    const after = (await d.getNotification(x.id))!;
    expect(after).toMatchObject({ total: 5, expansionDone: true, counts: { pending: 5 } });
    expect(await d.appendDeliveries(x.id, "w", rows(1), { cursor: null, done: true }, t0)).toMatchObject({ accepted: false });
    const work = await d.activeWork(t0);
    expect(work.find((w) => w.id === x.id)?.tenants.sort()).toEqual(["t1", "t2"]);
  });
  const dayMs = 24 * 3_600_000;
  const disabled = { code: "403/BotDisabledByAdmin", message: "disabled" };

  it("the tenant timeout sweep fails nothing of a tenant resumed (or paused again later) after the pauses were read", async () => {
    const x = await create(rows(3, "t_resumed"));
    await d.pauseTenant("t_resumed", "BotDisabledByAdmin", t0);
    // The dispatcher read the pause (older than the timeout), then an operator resumed the tenant.
    await d.resumeTenant("t_resumed");
    expect(await d.expireTenantRows("t_resumed", disabled, t0 + dayMs, t0 + dayMs + 1)).toEqual({ failed: 0, finished: [] });
    // Paused again since: younger than the cutoff, so not yet.
    await d.pauseTenant("t_resumed", "BotDisabledByAdmin", t0 + 2 * dayMs);
    expect(await d.expireTenantRows("t_resumed", disabled, t0 + dayMs, t0 + 3 * dayMs)).toEqual({ failed: 0, finished: [] });
    expect((await d.getNotification(x.id))?.counts).toMatchObject({ pending: 3, failed: 0 });
    // Still paused past the cutoff: the rows end.
    expect(await d.expireTenantRows("t_resumed", disabled, t0 + 3 * dayMs, t0 + 3 * dayMs)).toMatchObject({ failed: 3, finished: [x.id] });
    await d.resumeTenant("t_resumed");
  });

  it("the tenant timeout sweep does not lock a notification that has no row waiting in the tenant", async () => {
    const x = await create(rows(2, "t_busy"));
    expect(await d.claim("w1", x.id, "t_busy", t0 + 1, 10)).toHaveLength(2); // leased: nothing waits
    await d.pauseTenant("t_busy", "BotDisabledByAdmin", t0);
    if (stores.name === "postgres") {
      // Another writer holds the notification's lock: a sweep that locks it would wait for it.
      const client = new pg.Client({ connectionString: testPostgresUrl });
      await client.connect();
      try {
        await client.query(`set search_path to "${(stores.options as { schema: string }).schema}"`);
        await client.query("begin");
        await client.query("select id from notifications where id = $1 for update", [x.id]);
        const swept = d.expireTenantRows("t_busy", disabled, t0 + dayMs, t0 + dayMs);
        const timedOut = new Promise<"blocked">((r) => setTimeout(() => r("blocked"), 3_000));
        expect(await Promise.race([swept, timedOut])).toEqual({ failed: 0, finished: [] });
        await client.query("rollback");
        await swept;
      } finally {
        await client.end();
      }
    } else {
      expect(await d.expireTenantRows("t_busy", disabled, t0 + dayMs, t0 + dayMs)).toEqual({ failed: 0, finished: [] });
    }
    await d.resumeTenant("t_busy");
  });
});
