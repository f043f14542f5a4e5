import { afterAll, beforeAll, expect, it } from "vitest";
import type { Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { type SurveyDriver, startSurveyStack } from "./helpers.js";

const PEOPLE = 40;

/** Many people answering at the same moment: each answer is stored once, each person moves on once. */
forEachStore((stores) => {
  let stack: Stack;
  let driver: SurveyDriver;
  beforeAll(async () => {
    ({ stack, driver } = await startSurveyStack(await stores.open(), PEOPLE, 0));
  }, 60_000);
  afterAll(() => stack?.close());

  it(`${PEOPLE} people answer a survey at once; ${PEOPLE * 2} answers, one per person and question`, async () => {
    const people = await driver.people(PEOPLE);
    const id = await driver.survey(
      people.map((p) => p.id),
      {
        questions: [
          { id: "a", text: "Question A?", choices: ["Yes", "No"] },
          { id: "b", text: "Question B?" },
        ],
        outro: "Done.",
      },
    );
    await Promise.all(people.map((p) => driver.said(p.chat, /Question A\?/, 30_000)));
    await Promise.all(people.map((p, i) => driver.type(p.id, i % 2 === 0 ? "yes" : "2")));
    await Promise.all(people.map((p) => driver.said(p.chat, /Question B\?/, 30_000)));
    await Promise.all(people.map((p) => driver.type(p.id, `because ${p.id}`)));
    await Promise.all(people.map((p) => driver.said(p.chat, /Done\./, 30_000)));
    const answers = await driver.store.surveys.answers(id);
    expect(answers).toHaveLength(PEOPLE * 2);
    expect(new Set(answers.map((a) => `${a.userId}/${a.questionId}`)).size).toBe(PEOPLE * 2);
    expect(answers.filter((a) => a.questionId === "a" && a.value.choice === "Yes")).toHaveLength(PEOPLE / 2);
  }, 120_000);
});
