import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { parseMessage } from "../../src/delivery/message/schema.js";
import { notificationRequestSchema } from "../../src/delivery/request.js";
import { advance, emptyState, end, matchAnswer, offer } from "../../src/surveys/machine.js";
import { problems } from "../config/problems.js";

const survey = { questions: [{ id: "q1", text: "How was it?", choices: ["Good", "Bad"] }] };

/** The error of a refused message, or "" when accepted. */
const refusal = (message: unknown): string => {
  const r = parseMessage(message);
  return r.ok ? "" : r.error.message;
};

describe("message.survey is validated with errors naming the field", () => {
  it("accepts a survey alone, with intro, outro and whenBusy", () => {
    expect(refusal({ survey: { ...survey, intro: "Hi", outro: "Bye", whenBusy: "interrupt" } })).toBe("");
  });

  it.each([
    [{ survey: { questions: [] } }, /message\.survey\.questions: must hold at least one question/],
    [{ survey: { questions: [{ id: "q1" }] } }, /message\.survey\.questions\.0\.text: must be a string \(the question\)/],
    [{ survey: { questions: [{ id: "has space", text: "x" }] } }, /message\.survey\.questions\.0\.id: must be 1-64 letters/],
    [
      {
        survey: {
          questions: [
            { id: "a", text: "x" },
            { id: "a", text: "y" },
          ],
        },
      },
      /message\.survey\.questions\.1\.id: "a" is used by an earlier question/,
    ],
    [
      { survey: { questions: [{ id: "a", text: "x", choices: ["only"] }] } },
      /message\.survey\.questions\.0\.choices: must offer at least 2/,
    ],
    [{ survey: { questions: [{ id: "a", text: "x", choices: ["Yes", "yes"] }] } }, /choices: must be different from each other/],
    [{ survey: { ...survey, whenBusy: "later" } }, /message\.survey\.whenBusy: must be "wait".*or "interrupt"/],
    [{ survey: { ...survey, extra: 1 } }, /message\.survey: unknown field "extra"/],
    [{ text: "hello", survey }, /message\.text: cannot be combined with a survey; say it in survey\.intro/],
  ])("refuses %j", (message, pattern) => {
    expect(refusal(message)).toMatch(pattern);
  });

  it("refuses a survey to channels (nobody answers a channel post in a 1:1 chat)", () => {
    for (const audience of [{ channels: ["19:c@thread.tacv2"] }, { teams: ["19:t@thread.tacv2"], deliverTo: "channel" }]) {
      const r = notificationRequestSchema.safeParse({ audience, message: { survey } });
      expect(r.success).toBe(false);
      expect(r.error?.issues[0]?.path).toEqual(["message", "survey"]);
      expect(r.error?.issues[0]?.message).toMatch(/1:1 chats/);
    }
    expect(notificationRequestSchema.safeParse({ audience: { teams: ["t"], deliverTo: "members" }, message: { survey } }).success).toBe(
      true,
    );
  });
});

describe("HERALD_SURVEY_TIMEOUT", () => {
  it("defaults to 24 h, reads a duration, refuses less than a minute", () => {
    const base = { HERALD_APP_ID: "app" };
    expect(loadConfig(base).surveyTimeoutMs).toBe(86_400_000);
    expect(loadConfig({ ...base, HERALD_SURVEY_TIMEOUT: "30m" }).surveyTimeoutMs).toBe(1_800_000);
    expect(problems({ ...base, HERALD_SURVEY_TIMEOUT: "10s" }).join()).toMatch(/HERALD_SURVEY_TIMEOUT.*at least 1m/);
    expect(problems({ ...base, HERALD_SURVEY_TIMEOUT: "soon" }).join()).toMatch(/HERALD_SURVEY_TIMEOUT/);
  });
});

describe("the survey state machine", () => {
  it("waits, interrupts, resumes the interrupted survey at its question, then starts the waiting one", () => {
    let s = offer(emptyState(), "A", "wait").state;
    s = advance(s, 3).state; // A at question 2
    const waiting = offer(s, "B", "wait");
    expect(waiting.action).toBe("queued");
    const interrupting = offer(waiting.state, "C", "interrupt");
    expect(interrupting.action).toBe("ask");
    expect(interrupting.interrupted).toEqual({ notificationId: "A", index: 1 });
    const afterC = end(interrupting.state);
    expect(afterC.next).toEqual({ kind: "resume", run: { notificationId: "A", index: 1 } });
    const afterA = end(afterC.state);
    expect(afterA.next).toEqual({ kind: "start", run: { notificationId: "B", index: 0 } });
    expect(end(afterA.state).next).toEqual({ kind: "none" });
    // A retried row of an ended survey starts nothing.
    expect(offer(end(afterA.state).state, "A", "wait").action).toBe("again-quiet");
  });

  it("matches a typed answer to a choice by its words (any case) or number", () => {
    expect(matchAnswer(" blue ", ["Green", "Blue"])).toEqual({ text: "blue", choice: "Blue" });
    expect(matchAnswer("1", ["Green", "Blue"])).toEqual({ text: "1", choice: "Green" });
    expect(matchAnswer("3", ["Green", "Blue"])).toBeUndefined();
    expect(matchAnswer("anything", undefined)).toEqual({ text: "anything" });
    expect(matchAnswer("  ", undefined)).toBeUndefined();
  });
});
