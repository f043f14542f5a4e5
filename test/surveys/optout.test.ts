import { afterAll, beforeAll, expect, it } from "vitest";
import type { Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { type SurveyDriver, startSurveyStack } from "./helpers.js";

/**
 * Review of issue 10: `stop` (opt out) works while a survey runs: it is the command, not the
 * answer to a question asking for free text.
 */
forEachStore((stores) => {
  let stack: Stack;
  let driver: SurveyDriver;
  let people: { id: string; chat: string }[];
  beforeAll(async () => {
    ({ stack, driver, people } = await startSurveyStack(await stores.open(), 2));
  });
  afterAll(() => stack?.close());

  it("stop typed during a survey opts the person out and is stored as no answer", async () => {
    const [ann] = people;
    if (!ann) throw new Error("no user");
    const id = await driver.survey([ann.id], { questions: [{ id: "why", text: "Why, in your words?" }] });
    await driver.said(ann.chat, /Why, in your words\?/);
    await driver.type(ann.id, "Stop");
    const chat = await driver.store.conversations.get(ann.chat);
    expect((await driver.store.preferences.get(chat?.tenantId ?? "", ann.id))?.optedOut).toBe(true);
    expect(await driver.answers(id)).toEqual([]);
  });
  it("a survey waiting for a person who opted out meanwhile does not start when the running one ends", async () => {
    const [, bob] = people;
    if (!bob) throw new Error("no user");
    const s = await driver.survey([bob.id], { outro: "S is done.", questions: [{ id: "s1", text: "S only question?" }] });
    await driver.said(bob.chat, /S only question\?/);
    const w = await driver.survey([bob.id], { questions: [{ id: "w1", text: "W only question?" }] });
    await driver.delivered(w);
    await driver.type(bob.id, "stop");
    await driver.said(bob.chat, /won't receive notifications/);
    await driver.type(bob.id, "my answer");
    await driver.said(bob.chat, /S is done\./);
    expect(await driver.answers(s)).toHaveLength(1);
    const chat = await driver.store.conversations.get(bob.chat);
    expect((await driver.store.surveys.get(chat?.tenantId ?? "", bob.id))?.state.active).toBeUndefined();
    expect((await driver.botSaid(bob.chat)).some((m) => m.includes("W only question?"))).toBe(false);
  });
});
