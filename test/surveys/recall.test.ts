import { afterAll, beforeAll, expect, it } from "vitest";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { type SurveyDriver, startSurveyStack } from "./helpers.js";

const survey = (name: string) => ({
  intro: `Survey ${name} begins.`,
  outro: `Survey ${name} is done.`,
  questions: [
    { id: `${name}1`, text: `${name} question one?` },
    { id: `${name}2`, text: `${name} question two?` },
  ],
});

/**
 * Review of issue 10: a recalled survey (DELETE /v1/notifications/{id}, status canceled) asks
 * nothing more and stores no answer, whether it was running or waiting, in the process that
 * offered it (which remembers its questions).
 */
forEachStore((stores) => {
  let stack: Stack;
  let driver: SurveyDriver;
  let people: { id: string; chat: string }[];
  beforeAll(async () => {
    ({ stack, driver, people } = await startSurveyStack(await stores.open(), 2));
  });
  afterAll(() => stack?.close());

  const recall = async (id: string) => {
    const r = await call("DELETE", `${stack.heraldUrl}/v1/notifications/${id}`, undefined, STACK_API_KEY);
    expect(r.status, JSON.stringify(r.json)).toBeLessThan(300);
    await eventually(`${id} canceled`, async () => ((await stack.herald.engine.get(id))?.status === "canceled" ? true : undefined));
  };

  it("a recalled running survey stores no more answers and asks no more questions", async () => {
    const [ann] = people;
    if (!ann) throw new Error("no user");
    const r = await driver.survey([ann.id], survey("R"));
    await driver.said(ann.chat, /R question one\?/);
    await recall(r);
    await driver.type(ann.id, "an answer to a recalled survey");
    expect(await driver.answers(r)).toEqual([]);
    await driver.idle();
    expect((await driver.botSaid(ann.chat)).some((m) => m.includes("R question two?"))).toBe(false);
  });

  it("a recalled waiting survey does not start when the running one ends; the person's next text is a command again", async () => {
    const [, bob] = people;
    if (!bob) throw new Error("no user");
    const s = await driver.survey([bob.id], survey("S"));
    await driver.said(bob.chat, /S question one\?/);
    const w = await driver.survey([bob.id], survey("W"));
    await driver.delivered(w);
    await recall(w);
    await driver.type(bob.id, "one");
    await driver.said(bob.chat, /S question two\?/);
    await driver.type(bob.id, "two");
    await driver.said(bob.chat, /Survey S is done\./);
    expect(await driver.answers(s)).toHaveLength(2);
    const chat = await driver.store.conversations.get(bob.chat);
    expect((await driver.store.surveys.get(chat?.tenantId ?? "", bob.id))?.state.active).toBeUndefined();
    await driver.type(bob.id, "help");
    await driver.said(bob.chat, /stop/);
    expect((await driver.botSaid(bob.chat)).some((m) => m.includes("W question one?"))).toBe(false);
  });
});
