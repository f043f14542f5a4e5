import { describe, expect, it } from "vitest";
import { readBatchState, readFailedEntries, readOperationId } from "../../src/connector/batch.js";
import { batchBlockers, choosePath } from "../../src/delivery/batch/decide.js";
import { failedEntryOutcome, groupRows, isRunningState, memberOf, sentOutcome } from "../../src/delivery/batch/outcomes.js";
import type { BatchRow } from "../../src/delivery/batch/port.js";

/** The batch path's pure parts: reading Teams' answers, choosing the path, naming rows, mapping outcomes. */
describe("batch: pure parts", () => {
  it("reads an operation id in both shapes the SDKs use, and nothing else", () => {
    expect(readOperationId({ operationId: "op-1" })).toBe("op-1");
    expect(readOperationId("op-2")).toBe("op-2");
    expect(readOperationId({})).toBeUndefined();
    expect(readOperationId("")).toBeUndefined();
  });

  it("reads state with statusMap or stateMap and a retryAfter in seconds or as a time", () => {
    expect(readBatchState({ state: "Completed", stateMap: { "201": 3, "403": 1 }, retryAfter: null, totalEntriesCount: 4 }, 0)).toEqual({
      state: "Completed",
      statusMap: { "201": 3, "403": 1 },
      retryAfterMs: undefined,
      totalEntriesCount: 4,
    });
    expect(readBatchState({ state: "InProgress", statusMap: {}, retryAfter: 2 }, 0)?.retryAfterMs).toBe(2_000);
    expect(readBatchState({ state: "InProgress", retryAfter: "1970-01-01T00:00:05Z" }, 1_000)?.retryAfterMs).toBe(4_000);
    expect(readBatchState({ statusMap: {} }, 0)).toBeUndefined();
    expect(isRunningState("InProgress")).toBe(true);
    expect(isRunningState("Completed")).toBe(false);
  });

  it("reads failed entries whose error is a code or an object, with the continuation token", () => {
    expect(
      readFailedEntries({
        failedEntryResponses: [
          { id: "29:a", error: "MessageWritesBlocked" },
          { id: "29:b", error: { code: "X" } },
        ],
        continuationToken: "t",
      }),
    ).toEqual({
      entries: [
        { id: "29:a", error: "MessageWritesBlocked" },
        { id: "29:b", error: "X" },
      ],
      continuationToken: "t",
    });
  });

  it("maps failed entries through the retry table's codes", () => {
    expect(failedEntryOutcome("MessageWritesBlocked")).toMatchObject({ status: "blocked", code: "403/MessageWritesBlocked" });
    expect(failedEntryOutcome("BotNotInConversationRoster")).toMatchObject({ status: "notFound" });
    expect(failedEntryOutcome("ConversationNotFound")).toMatchObject({ status: "notFound", code: "404/ConversationNotFound" });
    expect(failedEntryOutcome("SomethingNew")).toMatchObject({ status: "failed", code: "batch/SomethingNew" });
    expect(sentOutcome("op-9").message).toMatch(/op-9.*no activity id/);
  });

  it("names users by their 29: id and channels by theirs; groups by tenant and serviceUrl; a second row for one member is a duplicate", () => {
    const row = (seq: number, r: Partial<BatchRow>): BatchRow => ({
      seq,
      tenantId: "t1",
      kind: "conversation",
      serviceUrl: "http://s",
      conversationId: undefined,
      targetId: undefined,
      userId: undefined,
      ...r,
    });
    expect(memberOf(row(0, { userId: "29:u" }))).toEqual({ kind: "users", id: "29:u" });
    expect(memberOf(row(0, { kind: "user", targetId: "00000000-aad" }))).toBeUndefined();
    expect(memberOf(row(0, { kind: "channel", targetId: "19:c@thread.tacv2" }))).toEqual({ kind: "channels", id: "19:c@thread.tacv2" });
    const groups = groupRows(
      [
        row(1, { userId: "29:a" }),
        row(2, { userId: "29:a", conversationId: "a:x" }),
        row(3, { userId: "29:b", serviceUrl: undefined }),
        row(4, { tenantId: "t2", userId: "29:c" }),
      ],
      () => "http://fallback",
    );
    expect(groups.map((g) => [g.tenantId, g.serviceUrl, [...g.members.values()], g.duplicates])).toEqual([
      ["t1", "http://s", [1], [2]],
      ["t1", "http://fallback", [3], []],
      ["t2", "http://s", [4], []],
    ]);
  });

  it("auto chooses batch from 100 listed recipients or for all, never for what batch cannot carry", () => {
    const users = (n: number) => ({ users: Array.from({ length: n }, (_, i) => `29:${i}`) });
    expect(choosePath("auto", { audience: users(99), message: { text: "x" } })).toBe("individual");
    expect(choosePath("auto", { audience: users(100), message: { text: "x" } })).toBe("batch");
    expect(choosePath("auto", { audience: { all: true }, message: { text: "x" } })).toBe("batch");
    expect(choosePath("auto", { audience: { all: true }, message: { text: "Hi ${givenName}" } })).toBe("individual");
    expect(choosePath("individual", { audience: { all: true }, message: { text: "x" } })).toBe("individual");
    expect(
      batchBlockers({ audience: { groups: ["g"] }, message: { poll: {} }, schedule: { localTime: "09:00" } }).map((b) => b.path.join(".")),
    ).toEqual(["message.poll", "schedule.localTime", "audience.groups"]);
  });
});
