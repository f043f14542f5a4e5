import { describe, expect, it } from "vitest";
import { mustReadFailures, operationOutcomes } from "../../src/delivery/batch/outcomes.js";

/** What an ended operation means for its rows (pure): Teams' report must add up before any row claims `sent`. */
describe("operationOutcomes", () => {
  const members = new Map([
    ["29:a", 0],
    ["29:b", 1],
    ["29:c", 2],
  ]);
  const completed = (statusMap: Record<string, number>) => ({ state: "Completed", statusMap });

  it("a completed operation whose report adds up: failed entries on their rows, the rest sent", () => {
    const r = operationOutcomes("op1", completed({ "201": 2, "403": 1 }), [{ id: "29:b", error: "MessageWritesBlocked" }], members, false);
    expect(r.outcomes.get(1)?.status).toBe("blocked");
    expect(r.rest.status).toBe("sent");
  });

  it("a completed operation without status counts: its failed entries end their rows, the rest unknown (batch/unconfirmed), never sent", () => {
    const r = operationOutcomes("op1", completed({}), [{ id: "29:b", error: "MessageWritesBlocked" }], members, false);
    expect(r.outcomes.get(1)?.status).toBe("blocked");
    expect(r.rest).toMatchObject({ status: "unknown", code: "batch/unconfirmed" });
    expect(r.rest.message).toMatch(/no status counts/);
    expect(operationOutcomes("op1", completed({}), [], members, false).rest.status).toBe("unknown");
  });

  it("failed entries are read unless the counts add up to one delivery per recipient submitted", () => {
    expect(mustReadFailures(completed({ "201": 3 }), 3)).toBe(false);
    expect(mustReadFailures(completed({}), 3)).toBe(true);
    expect(mustReadFailures(completed({ "201": 2 }), 3)).toBe(true);
    expect(mustReadFailures(completed({ "201": 2, "403": 1 }), 3)).toBe(true);
    expect(mustReadFailures({ statusMap: {} }, 3)).toBe(true);
  });

  it("a failed entry for a member Herald did not send, more failures counted than named, or too few deliveries: the rest unknown, naming the operation", () => {
    const stranger = operationOutcomes(
      "op2",
      completed({ "201": 3, "404": 1 }),
      [{ id: "29:z", error: "ConversationNotFound" }],
      members,
      false,
    );
    expect(stranger.rest).toMatchObject({ status: "unknown", code: "batch/unconfirmed" });
    expect(stranger.rest.message).toContain("op2");
    expect(stranger.rest.message).toContain("29:z");
    const uncounted = operationOutcomes("op3", completed({ "201": 3, "500": 1 }), [], members, false);
    expect(uncounted.rest.status).toBe("unknown");
    expect(uncounted.rest.message).toMatch(/counts 1 failed/);
    const short = operationOutcomes("op4", completed({ "201": 2 }), [], members, false);
    expect(short.rest.status).toBe("unknown");
    expect(short.rest.message).toMatch(/counts 2 delivered for 3/);
  });

  it("a canceled operation: canceled when Herald recalled it and Teams counts no delivery; sent when each was delivered; else unknown", () => {
    const canceled = { state: "Canceled", statusMap: { "404": 1 } };
    const entries = [{ id: "29:a", error: "ConversationNotFound" }];
    const r = operationOutcomes("op5", canceled, entries, members, true);
    expect(r.outcomes.get(0)?.status).toBe("notFound");
    expect(r.rest.status).toBe("canceled");
    // Teams canceled it on its own: Herald did not ask, it says unknown as before.
    expect(operationOutcomes("op5", canceled, entries, members, false).rest.status).toBe("unknown");
    // No counts at all: Teams may have sent some copies before it stopped; never canceled.
    const uncounted = operationOutcomes("op5", { state: "Canceled", statusMap: {} }, [], members, true).rest;
    expect(uncounted).toMatchObject({ status: "unknown", code: "batch/Canceled" });
    expect(uncounted.message).toMatch(/no status counts/);
    expect(operationOutcomes("op6", { state: "Canceled", statusMap: { "201": 1 } }, [], members, true).rest.status).toBe("unknown");
    expect(operationOutcomes("op7", { state: "Canceled", statusMap: { "201": 3 } }, [], members, true).rest.status).toBe("sent");
    expect(operationOutcomes("op8", undefined, [], members, true).rest).toMatchObject({ status: "unknown", code: "batch/Forgotten" });
  });
});
