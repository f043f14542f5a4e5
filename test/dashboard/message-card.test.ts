import { describe, expect, it } from "vitest";
import { previewOf } from "../../src/dashboard/message-card.js";
import { askMessage, emptyAsk } from "../../src/dashboard/responses-editor.js";
import { defaultSchedule, scheduleOf } from "../../src/dashboard/schedule-picker.js";
import { sampleRecipient } from "../../src/delivery/message/recipient.js";
import { renderActivities } from "../../src/delivery/message/render.js";
import { type Message, messageSchema } from "../../src/delivery/message/schema.js";
import { questionMessage, startWords } from "../../src/surveys/messages.js";

/** What Herald sends for `message` (no templating in these messages): the card, or the text. */
const sentCard = (message: Message) => {
  const a = renderActivities(messageSchema.parse(message), sampleRecipient);
  return a.attachments?.[0]?.content;
};

describe("Compose's preview is the card Herald sends", () => {
  it("for a poll with text, an acknowledgement with a card, and a plain card", () => {
    const card = { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "Results are out." }] };
    for (const message of [
      { text: "Lunch on Friday?", poll: { question: "Where?", options: ["Pizza", "Sushi"], multiple: true, anonymous: true } },
      { card, ack: { label: "Got it" } },
      { text: "Read this first.", card },
      { ack: {} },
    ] as Message[]) {
      const shown = previewOf(message as Record<string, unknown>);
      expect(shown.kind, JSON.stringify(message)).toBe("card");
      expect(JSON.parse((shown as { body: string }).body), JSON.stringify(message)).toEqual(sentCard(message));
    }
  });

  it("for a survey: its first question as the bot asks it; text stays text", () => {
    const survey = {
      intro: "Two questions.",
      questions: [
        { id: "q1", text: "Venue?", choices: ["Good", "Bad"] },
        { id: "q2", text: "Why?" },
      ],
    };
    const shown = previewOf({ survey });
    expect(JSON.parse((shown as { body: string }).body)).toEqual(questionMessage(survey, 0, startWords(survey, false)).card);
    expect(previewOf({ text: "Hi", textFormat: "plain" })).toEqual({ kind: "text", body: "Hi" });
    expect(previewOf({ text: "**Hi**" })).toEqual({ kind: "markdown", body: "**Hi**" });
    expect(previewOf({ text: "x", poll: { question: "Q", options: ["one"] } }).kind).toBe("error");
  });

  it("builds messages and schedules the API accepts", () => {
    const survey = askMessage({
      ...emptyAsk,
      kind: "survey",
      survey: { intro: "Hi", outro: "", questions: "Venue?\nGood\nBad\n\n\nWhy?\n" },
    });
    expect(survey).toEqual({
      survey: {
        intro: "Hi",
        questions: [
          { id: "q1", text: "Venue?", choices: ["Good", "Bad"] },
          { id: "q2", text: "Why?" },
        ],
      },
    });
    expect(messageSchema.safeParse(survey).success).toBe(true);
    expect(scheduleOf(defaultSchedule)).toEqual({});
    expect(scheduleOf({ ...defaultSchedule, when: "local" })).toEqual({ schedule: { localTime: "09:00", ifPassed: "sendNow" } });
    expect(scheduleOf({ ...defaultSchedule, when: "recurring", cron: " " }).error).toContain("cron");
    expect(scheduleOf({ ...defaultSchedule, when: "at" }).error).toContain("time");
  });
});
