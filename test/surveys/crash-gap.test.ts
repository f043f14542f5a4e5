import { afterAll, beforeAll, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { SurveyService } from "../../src/surveys/service.js";
import type { Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { type SurveyDriver, serviceAt, startSurveyStack } from "./helpers.js";

/**
 * Review of issue 10: a process that dies after it stored an answer (and moved the survey on) but
 * before it stored the reply with the next question. Teams need not deliver the activity again,
 * so the next question must come from the store: the sweep of any process says it, once.
 */
forEachStore((stores) => {
  let stack: Stack;
  let driver: SurveyDriver;
  let people: { id: string; chat: string }[];
  beforeAll(async () => {
    ({ stack, driver, people } = await startSurveyStack(await stores.open(), 1));
  });
  afterAll(() => stack?.close());

  it("the next question decided before a crash is sent by a later sweep, once; the answer is stored once", async () => {
    const [ann] = people;
    if (!ann) throw new Error("no user");
    const id = await driver.survey([ann.id], {
      questions: [
        { id: "q1", text: "Gap question one?" },
        { id: "q2", text: "Gap question two?" },
      ],
    });
    const count = await driver.said(ann.chat, /Gap question one\?/);
    const chat = await driver.store.conversations.get(ann.chat);
    if (!chat) throw new Error("no chat");
    // The dying process: its session write succeeds, then it dies before the reply row is stored.
    const dying = new SurveyService({
      store: driver.store,
      reply: () => Promise.reject(new Error("killed")),
      clock: { now: () => Date.now(), sleep: () => Promise.resolve() },
      timeoutMs: 24 * 3_600_000,
      logger: silentLogger,
    });
    const input = {
      tenantId: chat.tenantId,
      userId: ann.id,
      conversationId: chat.id,
      serviceUrl: chat.serviceUrl,
      activityId: "gap-answer",
      text: "first",
    };
    await expect(dying.onText(input)).rejects.toThrow("killed");
    expect(await driver.answers(id)).toEqual([{ question: "q1", text: "first" }]);
    // A minute later another process's sweep (no redelivery from Teams).
    await serviceAt(stack, driver.store, Date.now() + 60_000, 24 * 3_600_000).sweep();
    await serviceAt(stack, driver.store, Date.now() + 120_000, 24 * 3_600_000).sweep();
    expect(await driver.said(ann.chat, /Gap question two\?/)).toBe(count + 1);
    await driver.type(ann.id, "second");
    expect(await driver.answers(id)).toEqual([
      { question: "q1", text: "first" },
      { question: "q2", text: "second" },
    ]);
    expect((await driver.botSaid(ann.chat)).filter((m) => m.includes("Gap question two?"))).toHaveLength(1);
    // Once a reply is stored the session forgets it: the sweep has nothing to say again.
    expect((await driver.store.surveys.get(chat.tenantId, ann.id))?.state.said).toBeUndefined();
    expect(await driver.store.surveys.unsaid(new Date(Date.now() + 60_000).toISOString(), 10)).toEqual([]);
  });
});
