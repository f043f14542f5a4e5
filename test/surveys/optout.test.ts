import { afterAll, beforeAll, expect, it } from "vitest";
import { type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { SurveyDriver } from "./helpers.js";

/**
 * Review of issue 10: `stop` (opt out) works while a survey runs: it is the command, not the
 * answer to a question asking for free text.
 */
forEachStore((stores) => {
  let stack: Stack;
  let driver: SurveyDriver;
  let people: { id: string; chat: string }[];
  beforeAll(async () => {
    const store = await stores.open();
    stack = await startStack(store, { emulator: { org: { tenants: 1, users: 1, teams: 0, blockedShare: 0, uninstalledShare: 0 } } });
    driver = new SurveyDriver(() => stack, store);
    people = await driver.people(1);
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
});
