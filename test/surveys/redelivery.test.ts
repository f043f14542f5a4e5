import { afterAll, beforeAll, expect, it } from "vitest";
import type { Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { type SurveyDriver, startSurveyStack } from "./helpers.js";

/**
 * Review of issue 10: the answer that ends a survey, delivered again by Teams (same activity id),
 * is the survey's: it is neither answered a second time nor taken as a command ("Sorry, I don't
 * understand").
 */
forEachStore((stores) => {
  let stack: Stack;
  let driver: SurveyDriver;
  let people: { id: string; chat: string }[];
  beforeAll(async () => {
    ({ stack, driver, people } = await startSurveyStack(await stores.open(), 1));
  });
  afterAll(() => stack?.close());

  it("the last answer delivered twice ends the survey once and is not answered as a command", async () => {
    const [ann] = people;
    if (!ann) throw new Error("no user");
    const id = await driver.survey([ann.id], { outro: "All done, thanks.", questions: [{ id: "q", text: "One question?" }] });
    const count = await driver.said(ann.chat, /One question\?/);
    const chat = await driver.store.conversations.get(ann.chat);
    if (!chat) throw new Error("no chat");
    const activity = {
      type: "message",
      id: "last-answer-twice",
      serviceUrl: chat.serviceUrl,
      channelId: "msteams",
      from: { id: ann.id },
      recipient: { id: chat.bot.id },
      conversation: { id: chat.id, conversationType: "personal", tenantId: chat.tenantId },
      channelData: { tenant: { id: chat.tenantId } },
      text: "Fine",
    };
    await stack.herald.handler.handle(activity);
    await stack.herald.handler.handle(activity);
    expect(await driver.said(ann.chat, /All done, thanks\./)).toBe(count + 1);
    expect(await driver.answers(id)).toEqual([{ question: "q", text: "Fine" }]);
    await driver.idle();
    const said = await driver.botSaid(ann.chat);
    expect(said.some((m) => m.includes("understand"))).toBe(false);
    expect(said).toHaveLength(count + 1);
  });
  it("two different answers typed at the same moment answer two questions, each once (a write conflict is applied again)", async () => {
    const [ann] = people;
    if (!ann) throw new Error("no user");
    const id = await driver.survey([ann.id], {
      questions: [
        { id: "c1", text: "Race one?" },
        { id: "c2", text: "Race two?" },
        { id: "c3", text: "Race three?" },
      ],
    });
    const count = await driver.said(ann.chat, /Race one\?/);
    const chat = await driver.store.conversations.get(ann.chat);
    if (!chat) throw new Error("no chat");
    const activity = (id: string, text: string) => ({
      type: "message",
      id,
      serviceUrl: chat.serviceUrl,
      channelId: "msteams",
      from: { id: ann.id },
      recipient: { id: chat.bot.id },
      conversation: { id: chat.id, conversationType: "personal", tenantId: chat.tenantId },
      channelData: { tenant: { id: chat.tenantId } },
      text,
    });
    await Promise.all([stack.herald.handler.handle(activity("race-a", "alpha")), stack.herald.handler.handle(activity("race-b", "beta"))]);
    const answers = await driver.answers(id);
    expect(answers.map((a) => a.question)).toEqual(["c1", "c2"]);
    expect(new Set(answers.map((a) => a.text))).toEqual(new Set(["alpha", "beta"]));
    expect((await driver.store.surveys.get(chat.tenantId, ann.id))?.state.active).toEqual({ notificationId: id, index: 2 });
    await driver.said(ann.chat, /Race three\?/);
    await driver.idle();
    const said = await driver.botSaid(ann.chat);
    expect(said).toHaveLength(count + 2);
    expect(said.filter((m) => m.includes("Race three?"))).toHaveLength(1);
  });
});
