import { describe, expect, it } from "vitest";
import { ConnectorError } from "../../src/connector/errors.js";
import { conversationRow, memberRow, optedOut, userRow } from "../../src/delivery/audience/rows.js";
import { csvCell, csvLine } from "../../src/delivery/csv.js";
import { Batcher } from "../../src/delivery/dispatch/batcher.js";
import { judge, resultOf } from "../../src/delivery/dispatch/outcome.js";
import { RecentRequests } from "../../src/delivery/dispatch/recent.js";
import { stepOf } from "../../src/delivery/dispatch/steps.js";
import { canonicalJson, notificationId } from "../../src/delivery/ids.js";
import type { Job } from "../../src/delivery/model.js";
import { audienceSchema } from "../../src/delivery/request.js";
import { defaultRetryPolicy } from "../../src/delivery/retry.js";
import { planResults, sumDeltas } from "../../src/delivery/store/plan.js";
import type { StoredRecipient } from "../../src/delivery/store/port.js";

/** The pure core of the engine, without sockets or databases. */
describe("planResults: the counter rules", () => {
  const key = { notificationId: "n", seq: 1, lease: 1 };
  const state = (version = 1, recalled = false) => new Map([["n", { version, recalled }]]);
  const delta = (r: Parameters<typeof planResults>[0][number], s = state()) => planResults([r], s, 0)[0]!.delta;

  it("a send's outcome moves one from pending to that status; a retry moves nothing", () => {
    expect(delta({ ...key, kind: "sent", attempts: 1, activityId: "a", version: 1 })).toEqual({ pending: -1, sent: 1 });
    expect(delta({ ...key, kind: "final", status: "blocked", attempts: 1, error: { code: "x", message: "" } })).toEqual({
      pending: -1,
      blocked: 1,
    });
    expect(
      delta({ ...key, kind: "retry", op: "send", attempts: 1, firstAttemptAt: 0, dueAt: 5, error: { code: "x", message: "" } }),
    ).toEqual({});
  });

  it("a send to retry after a recall is canceled, not retried; a delete to retry still is", () => {
    const error = { code: "503", message: "" };
    const send = planResults(
      [{ ...key, kind: "retry", op: "send", attempts: 1, firstAttemptAt: 0, dueAt: 5, error }],
      state(1, true),
      0,
    )[0]!;
    expect(send).toMatchObject({ status: "canceled", queue: null, op: null, delta: { pending: -1, canceled: 1 } });
    const del = planResults(
      [{ ...key, kind: "retry", op: "delete", attempts: 1, firstAttemptAt: 0, dueAt: 5, error }],
      state(1, true),
      0,
    )[0]!;
    expect(del).toMatchObject({ status: "sent", queue: "ready", op: "delete", delta: {} });
  });

  it("a send to retry after a recall whose request may have reached Teams (in doubt, resend) ends unknown, not canceled", () => {
    const error = { code: "network/reset", message: "reset." };
    const change = planResults(
      [{ ...key, kind: "retry", op: "send", attempts: 1, firstAttemptAt: 0, dueAt: 5, error, inDoubt: true }],
      state(1, true),
      0,
    )[0]!;
    expect(change).toMatchObject({
      status: "unknown",
      queue: null,
      op: null,
      errorCode: "network/reset",
      delta: { pending: -1, unknown: 1 },
    });
    // Not recalled: retried as before.
    expect(
      planResults([{ ...key, kind: "retry", op: "send", attempts: 1, firstAttemptAt: 0, dueAt: 5, error, inDoubt: true }], state(1), 0)[0],
    ).toMatchObject({ status: "pending", queue: "ready", delta: {} });
  });

  it("a send landing after an edit or a recall is queued for an update or a delete", () => {
    const afterEdit = planResults([{ ...key, kind: "sent", attempts: 1, activityId: "a", version: 1 }], state(2), 7)[0]!;
    expect(afterEdit).toMatchObject({ op: "edit", queue: "ready", dueAt: 7, delta: { pending: -1, sent: 1, editPending: 1 } });
    const afterRecall = planResults([{ ...key, kind: "sent", attempts: 1, activityId: "a", version: 1 }], state(1, true), 7)[0]!;
    expect(afterRecall).toMatchObject({ op: "delete", recallState: "pending", delta: { pending: -1, sent: 1, recallPending: 1 } });
    // Without an activity id there is nothing to update or delete.
    expect(planResults([{ ...key, kind: "sent", attempts: 1, activityId: undefined, version: 1 }], state(2), 7)[0]!.op).toBeNull();
  });

  it("an edit at an older version is queued again; at the current one it is done", () => {
    expect(delta({ ...key, kind: "edited", version: 1, attempts: 1 }, state(2))).toEqual({});
    expect(delta({ ...key, kind: "edited", version: 2, attempts: 1 }, state(2))).toEqual({ editPending: -1, editDone: 1 });
    expect(delta({ ...key, kind: "deleteFailed", attempts: 1, error: { code: "x", message: "" } })).toEqual({
      recallPending: -1,
      recallFailed: 1,
    });
  });

  it("deltas are summed per notification, for rows that were updated only", () => {
    const changes = planResults(
      [
        { notificationId: "n", seq: 1, lease: 1, kind: "sent", attempts: 1, activityId: "a", version: 1 },
        { notificationId: "n", seq: 2, lease: 1, kind: "sent", attempts: 1, activityId: "b", version: 1 },
      ],
      state(),
      0,
    );
    expect(sumDeltas(changes, (k) => k.seq === 2).get("n")).toEqual({ pending: -1, sent: 1 });
  });
});

describe("outcomes of a failed request", () => {
  const job: Job = {
    notificationId: "n",
    seq: 0,
    lease: 1,
    op: "send",
    kind: "conversation",
    tenantId: "t",
    conversationId: "a:1",
    attempts: 0,
  };
  const http = (status: number, code?: string, subCode?: string, retryAfterMs?: number) =>
    new ConnectorError({
      kind: "http",
      source: "connector",
      operation: "sendToConversation",
      url: "https://x/",
      status,
      code,
      subCode,
      retryAfterMs,
    });
  const v = (e: unknown, attempt = 1) => judge(e, { attempt, firstAttemptAt: 0, now: 0 }, () => 0.5, defaultRetryPolicy);

  it("follows the retry table", () => {
    expect(v(http(403, "BadArgument", "MessageWritesBlocked"))).toMatchObject({
      kind: "blocked",
      error: { code: "403/BadArgument/MessageWritesBlocked" },
    });
    expect(v(http(403, "BotDisabledByAdmin"))).toMatchObject({ kind: "tenantDisabled" });
    expect(v(http(404, "ConversationNotFound"))).toMatchObject({ kind: "notFound" });
    expect(v(http(429, "Throttled", undefined, 1500))).toMatchObject({ kind: "retry", delayMs: 1500, throttled: true });
    expect(v(http(503))).toMatchObject({ kind: "retry", throttled: false });
    expect(v(http(503), 12)).toMatchObject({ kind: "failed", error: { code: "503" } });
    expect(v(new ConnectorError({ kind: "reset", source: "connector", operation: "sendToConversation", url: "x" }))).toMatchObject({
      kind: "retry",
      error: { code: "network/reset" },
    });
    expect(v(new ConnectorError({ kind: "untrusted", source: "connector", operation: "sendToConversation", url: "x" }))).toMatchObject({
      kind: "failed",
      error: { code: "HERALD_E_UNTRUSTED_SERVICE_URL" },
    });
  });

  it("maps a verdict to the job's result per operation", () => {
    const gone = { kind: "activityNotFound" as const, error: { code: "404", message: "" } };
    expect(resultOf({ ...job, op: "delete" }, "delete", gone, 1, 0, {}).kind).toBe("deleted");
    expect(resultOf({ ...job, op: "edit" }, "edit", gone, 1, 0, {}).kind).toBe("editFailed");
    expect(resultOf(job, "send", { kind: "tenantDisabled", error: { code: "x", message: "" } }, 1, 0, {}).kind).toBe("release");
  });

  it("a job's next step: create a chat first, a channel post is one create", () => {
    expect(stepOf(job)).toBe("send");
    expect(stepOf({ ...job, kind: "user", conversationId: undefined })).toBe("create");
    expect(stepOf({ ...job, kind: "channel", conversationId: undefined })).toBe("createThread");
    expect(stepOf({ ...job, op: "delete" })).toBe("delete");
  });
});

describe("recipients become rows", () => {
  const stored: StoredRecipient = {
    conversationId: "a:1",
    kind: "personal",
    tenantId: "t",
    serviceUrl: "https://s/",
    status: "active",
    userId: "29:1",
    userName: "Ada Lovelace",
    optedOut: false,
    optedOutCategories: ["surveys"],
    seq: 1,
  };

  it("final statuses when no call to Teams is needed", () => {
    expect(conversationRow(stored, undefined).status).toBe("pending");
    expect(conversationRow(stored, "surveys").status).toBe("optedOut");
    expect(conversationRow({ ...stored, status: "blocked", statusCode: "MessageWritesBlocked" }, undefined)).toMatchObject({
      status: "blocked",
      errorCode: "MessageWritesBlocked",
    });
    expect(conversationRow({ ...stored, status: "uninstalled" }, undefined).status).toBe("notFound");
    expect(optedOut({ optedOut: true, categories: [] }, undefined)).toBe(true);
  });

  it("one key per user, with or without a chat", () => {
    expect(userRow("29:1", stored, "t", undefined, undefined, undefined).recipientKey).toBe("user:t:29:1");
    expect(userRow("29:1", undefined, "t", "https://s/", undefined, undefined)).toMatchObject({
      recipientKey: "user:t:29:1",
      kind: "user",
      status: "pending",
    });
    expect(userRow("29:1", undefined, undefined, undefined, undefined, undefined)).toMatchObject({
      status: "failed",
      errorCode: "HERALD_E_TENANT_REQUIRED",
    });
    const home = { teamId: "19:t", tenantId: "t", serviceUrl: "https://s/" };
    expect(memberRow({ id: "29:1", name: "Ada" }, home, stored, undefined, undefined).recipientKey).toBe("user:t:29:1");
    expect(memberRow({ id: "29:1", name: "Ada" }, home, undefined, undefined, undefined).recipientKey).toBe("user:t:29:1");
  });
});

describe("small parts", () => {
  it("audience: exactly one kind", () => {
    expect(audienceSchema.safeParse({ all: true }).success).toBe(true);
    expect(audienceSchema.safeParse({ all: true, users: ["x"] }).success).toBe(false);
    expect(audienceSchema.safeParse({ channels: ["x"], tenantId: "t" }).success).toBe(false);
    expect(audienceSchema.safeParse({ teams: ["x"], deliverTo: "members" }).success).toBe(true);
  });

  it("CSV quotes and defuses formulas", () => {
    expect(csvCell('a,"b"')).toBe('"a,""b"""');
    expect(csvCell("=1+2")).toBe("'=1+2");
    expect(csvLine([1, null, "x"])).toBe("1,,x\r\n");
  });

  it("ids sort by time; canonical JSON ignores key order", () => {
    expect(notificationId(1_000) < notificationId(2_000)).toBe(true);
    expect(notificationId(5)).toMatch(/^n_[0-9a-z]{26}$/);
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 } })).toBe(canonicalJson({ a: { c: 2, d: 1 }, b: 1 }));
  });

  it("a 429 is a conversation's only after enough requests to it", () => {
    const r = new RecentRequests(2_000, 7);
    for (let i = 0; i < 6; i++) r.record("send:a", i * 100);
    expect(r.busy("send:a", 600)).toBe(false);
    r.record("send:a", 650);
    expect(r.busy("send:a", 700)).toBe(true);
    expect(r.busy("send:a", 5_000)).toBe(false);
    for (let i = 0; i < 1_000; i++) r.record(`send:${i}`, 10_000 + i * 10);
    expect(r.size).toBeLessThan(400);
  });

  it("the batcher writes what waits when a write starts, in order, in batches", async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const b = new Batcher<number, number>(
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate;
        return items.map((i) => i * 2);
      },
      { max: 100, delayMs: 0 },
    );
    const first = b.add(1);
    await new Promise((r) => setImmediate(r));
    const more = [2, 3, 4].map((i) => b.add(i));
    release();
    expect(await Promise.all([first, ...more])).toEqual([2, 4, 6, 8]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    await b.drain();
    expect(b.backlog).toBe(0);
  });

  it("the batcher keeps an item that may wait (a result) for the next urgent one (a mark), or writes it alone after its wait", async () => {
    const batches: string[][] = [];
    const b = new Batcher<string, string>(
      async (items) => {
        batches.push(items);
        return items;
      },
      { max: 100, delayMs: 0 },
    );
    const result = b.add("result", 10_000);
    // Several turns pass: an item that may wait, alone, starts no write.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(batches).toEqual([]);
    const mark = b.add("mark");
    expect(await Promise.all([result, mark])).toEqual(["result", "mark"]);
    expect(batches).toEqual([["result", "mark"]]);

    const alone = new Batcher<string, string>(
      async (items) => {
        batches.push(items);
        return items;
      },
      { max: 100, delayMs: 0 },
    );
    const started = Date.now();
    expect(await alone.add("late", 20)).toBe("late");
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(batches).toEqual([["result", "mark"], ["late"]]);
  });
});
