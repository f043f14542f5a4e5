import { describe, expect, it } from "vitest";
import {
  classifyFailure,
  decideRetry,
  defaultRetryPolicy,
  type Failure,
  type FailureOutcome,
  failureLabel,
  nextDelay,
  parseRetryAfter,
  retryTable,
  unknownFailureRow,
} from "../../src/delivery/retry.js";

/** Every row of the table, as Teams actually sends it, and a few that no row names. */
const cases: [Failure, FailureOutcome][] = [
  [{ network: "timeout" }, "retry"],
  [{ network: "reset" }, "retry"],
  [{ network: "refused" }, "retry"],
  [{ network: "other" }, "retry"],
  [{}, "retry"],
  [{ status: 400, code: "BadArgument" }, "failed"],
  [{ status: 400, code: "BadSyntax" }, "failed"],
  [{ status: 401, code: "BotNotRegistered" }, "failed"],
  [{ status: 403, code: "BadArgument", subCode: "MessageWritesBlocked" }, "blocked"],
  [{ status: 403, code: "MessageWritesBlocked" }, "blocked"],
  [{ status: 403, code: "ConversationBlockedByUser" }, "blocked"],
  [{ status: 403, code: "BotDisabledByAdmin" }, "tenantDisabled"],
  [{ status: 403, code: "BotNotInConversationRoster" }, "notFound"],
  [{ status: 403, code: "ForbiddenOperationException" }, "notFound"],
  [{ status: 403, code: "InvalidBotApiHost" }, "failed"],
  [{ status: 403, code: "SomethingNew" }, "failed"],
  [{ status: 403 }, "failed"],
  [{ status: 404, code: "ConversationNotFound" }, "notFound"],
  [{ status: 404, code: "conversationnotfound" }, "notFound"],
  [{ status: 404, code: "ActivityNotFoundInConversation" }, "activityNotFound"],
  [{ status: 404 }, "failed"],
  [{ status: 412, code: "PreconditionFailed" }, "retry"],
  [{ status: 413, code: "MessageSizeTooBig" }, "failed"],
  [{ status: 429, code: "Throttled", retryAfterMs: 3_000 }, "retry"],
  [{ status: 429 }, "retry"],
  [{ status: 500 }, "failed"],
  [{ status: 502 }, "retry"],
  [{ status: 503 }, "retry"],
  [{ status: 504 }, "retry"],
  [{ status: 408 }, "failed"],
  [{ status: 409, code: "Conflict" }, "failed"],
  [{ status: 501 }, "failed"],
];

describe("retry table", () => {
  it.each(cases)("%j → %s", (failure, outcome) => {
    expect(classifyFailure(failure).outcome).toBe(outcome);
  });

  it("has a case above for every row (a new row needs a test)", () => {
    const used = new Set(cases.map(([f]) => classifyFailure(f)));
    for (const row of retryTable) expect(used, `row ${JSON.stringify(row)}`).toContain(row);
    expect(used).toContain(unknownFailureRow);
  });

  it("matches a code in subCode too: MessageWritesBlocked arrives as BadArgument with the subCode inside", () => {
    expect(classifyFailure({ status: 403, code: "Forbidden", subCode: "ConversationBlockedByUser" }).outcome).toBe("blocked");
    // …but a blocking code under another status is not a block.
    expect(classifyFailure({ status: 400, code: "MessageWritesBlocked" }).outcome).toBe("failed");
  });

  it("labels failures for storage", () => {
    expect(failureLabel({ status: 403, code: "BadArgument", subCode: "MessageWritesBlocked" })).toBe(
      "403/BadArgument/MessageWritesBlocked",
    );
    expect(failureLabel({ status: 429 })).toBe("429");
    expect(failureLabel({ network: "timeout" })).toBe("network/timeout");
    expect(failureLabel({})).toBe("network/other");
  });
});

describe("nextDelay", () => {
  const low = () => 0;
  const high = () => 0.999999;
  it.each([
    [1, 500, 1_000],
    [2, 1_000, 2_000],
    [3, 2_000, 4_000],
    [4, 4_000, 8_000],
    [5, 8_000, 16_000],
    [6, 16_000, 32_000],
    [7, 32_000, 64_000],
    [8, 64_000, 128_000],
    [9, 128_000, 256_000],
    [10, 150_000, 300_000],
    [40, 150_000, 300_000],
  ])("attempt %i waits %i–%i ms (equal jitter, capped)", (attempt, min, max) => {
    expect(nextDelay(attempt, { status: 503 }, low)).toBe(min);
    expect(nextDelay(attempt, { status: 503 }, high)).toBe(max);
    expect(nextDelay(attempt, { network: "reset" }, () => 0.5)).toBe((min + max) / 2);
  });

  it("honours Retry-After exactly, never less, whatever the attempt and the random draw", () => {
    for (const attempt of [1, 5, 11]) {
      for (const r of [low, high]) {
        expect(nextDelay(attempt, { status: 429, retryAfterMs: 3_000 }, r)).toBe(3_000);
        expect(nextDelay(attempt, { status: 429, retryAfterMs: 2_500.2 }, r)).toBe(2_501);
        expect(nextDelay(attempt, { status: 429, retryAfterMs: 0 }, r)).toBe(0);
      }
    }
  });
});

describe("decideRetry", () => {
  const start = 1_700_000_000_000;
  it("schedules a transient failure with the backoff", () => {
    const d = decideRetry({ status: 503 }, { attempt: 1, firstAttemptAt: start, now: start + 200 }, () => 0);
    expect(d).toMatchObject({ outcome: "retry", delayMs: 500, retryAt: start + 700, error: "503" });
  });

  it("schedules a 429 at exactly its Retry-After", () => {
    const d = decideRetry(
      { status: 429, code: "Throttled", retryAfterMs: 7_000 },
      { attempt: 3, firstAttemptAt: start, now: start + 9_000 },
      Math.random,
    );
    expect(d).toMatchObject({ outcome: "retry", delayMs: 7_000, retryAt: start + 16_000, error: "429/Throttled" });
  });

  it("gives up after maxAttempts with the last error kept", () => {
    const state = { attempt: defaultRetryPolicy.maxAttempts, firstAttemptAt: start, now: start + 60_000 };
    expect(decideRetry({ network: "timeout" }, state, () => 0)).toMatchObject({
      outcome: "failed",
      reason: "attempts",
      error: "network/timeout",
    });
    expect(decideRetry({ network: "timeout" }, { ...state, attempt: state.attempt - 1 }, () => 0).outcome).toBe("retry");
  });

  it("gives up when the next attempt would fall after maxTotalMs", () => {
    const policy = { ...defaultRetryPolicy, maxTotalMs: 10_000 };
    expect(decideRetry({ status: 502 }, { attempt: 1, firstAttemptAt: start, now: start + 9_000 }, () => 0, policy)).toMatchObject({
      outcome: "retry",
      retryAt: start + 9_500,
    });
    expect(decideRetry({ status: 502 }, { attempt: 1, firstAttemptAt: start, now: start + 9_600 }, () => 0, policy)).toMatchObject({
      outcome: "failed",
      reason: "time",
      error: "502",
    });
    // A Retry-After beyond the bound is not shortened to fit: it fails.
    expect(
      decideRetry({ status: 429, retryAfterMs: 20_000 }, { attempt: 1, firstAttemptAt: start, now: start }, () => 0, policy),
    ).toMatchObject({
      outcome: "failed",
      reason: "time",
    });
  });

  it("never retries a permanent failure, and passes conversation outcomes through", () => {
    const state = { attempt: 1, firstAttemptAt: start, now: start };
    expect(decideRetry({ status: 500 }, state, () => 0)).toMatchObject({ outcome: "failed", reason: "permanent", error: "500" });
    expect(decideRetry({ status: 403, code: "ConversationBlockedByUser" }, state, () => 0)).toMatchObject({
      outcome: "blocked",
      error: "403/ConversationBlockedByUser",
    });
    expect(decideRetry({ status: 403, code: "BotDisabledByAdmin" }, state, () => 0).outcome).toBe("tenantDisabled");
  });

  it("with the default policy, retries ride out a 9-minute outage and stop before 30 minutes", () => {
    let now = start;
    let attempt = 1;
    const waits: number[] = [];
    for (;;) {
      const d = decideRetry({ status: 503 }, { attempt, firstAttemptAt: start, now }, () => 0);
      if (d.outcome !== "retry") {
        expect(d).toMatchObject({ outcome: "failed", reason: "attempts" });
        break;
      }
      waits.push(d.delayMs);
      now = d.retryAt;
      attempt++;
    }
    expect(waits).toHaveLength(11);
    expect(now - start).toBeGreaterThan(9 * 60_000);
    expect(now - start).toBeLessThan(defaultRetryPolicy.maxTotalMs);
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2025-01-01T00:00:00Z");
  it.each([
    ["3", 3_000],
    [" 120 ", 120_000],
    ["0", 0],
    ["1.5", 1_500],
    ["Wed, 01 Jan 2025 00:00:10 GMT", 10_000],
    ["Tue, 31 Dec 2024 23:59:00 GMT", 0],
    ["soon", undefined],
    ["-1", undefined],
    ["", undefined],
    [null, undefined],
  ])("%j → %s ms", (header, ms) => {
    expect(parseRetryAfter(header, now)).toBe(ms);
  });
});
