import { afterAll, beforeAll, expect, it } from "vitest";
import { call, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { type SurveyDriver, serviceAt, startSurveyStack } from "./helpers.js";

const colour = {
  intro: "Two quick questions about the office.",
  outro: "Thanks, that helps!",
  questions: [
    { id: "colour", text: "Which colour for the walls?", choices: ["Green", "Blue", "White"] },
    { id: "why", text: "Why that one?" },
  ],
};
const three = (name: string, whenBusy?: "wait" | "interrupt") => ({
  intro: `Survey ${name} begins.`,
  outro: `Survey ${name} is done.`,
  ...(whenBusy ? { whenBusy } : {}),
  questions: [
    { id: `${name}1`, text: `${name} question one?` },
    { id: `${name}2`, text: `${name} question two?`, choices: ["Yes", "No"] },
    { id: `${name}3`, text: `${name} question three?` },
  ].slice(0, name === "S" ? 3 : 2),
});

/**
 * Issue 10, surveys: through the emulator over HTTP, with the questions and answers in each
 * person's 1:1 chat, on SQLite and PostgreSQL.
 */
forEachStore((stores) => {
  let stack: Stack;
  let driver: SurveyDriver;
  let people: { id: string; chat: string }[];
  beforeAll(async () => {
    ({ stack, driver, people } = await startSurveyStack(await stores.open(), 5));
  });
  afterAll(() => stack?.close());

  it("asks one question at a time, takes a typed choice or its number, refuses a non-choice, stores each answer, says the outro", async () => {
    const [ann] = people;
    if (!ann) throw new Error("no user");
    const id = await driver.survey([ann.id], colour);
    await driver.said(ann.chat, /Two quick questions.*Which colour for the walls\?/);
    await driver.type(ann.id, "purple");
    await driver.said(ann.chat, /not one of the choices.*Which colour/);
    await driver.type(ann.id, "2");
    await driver.said(ann.chat, /Why that one\?/);
    await driver.type(ann.id, "It is calm");
    await driver.said(ann.chat, /Thanks, that helps!/);
    expect(await driver.answers(id)).toEqual([
      { question: "colour", text: "2", choice: "Blue" },
      { question: "why", text: "It is calm" },
    ]);
    // In the responses API and its CSV, like poll answers.
    const listed = await call("GET", `${stack.heraldUrl}/v1/notifications/${id}/responses`, undefined, STACK_API_KEY);
    expect(listed.status).toBe(200);
    expect((listed.json["items"] as Record<string, unknown>[]).map((r) => [r["kind"], r["questionId"], r["answer"], r["userId"]])).toEqual([
      ["survey", "colour", "Blue", ann.id],
      ["survey", "why", "It is calm", ann.id],
    ]);
    const csv = await fetch(`${stack.heraldUrl}/v1/notifications/${id}/responses?format=csv`, {
      headers: { authorization: `Bearer ${STACK_API_KEY}` },
    }).then((r) => r.text());
    expect(csv).toMatch(/survey,.*,Blue,.*,colour/);
    // No survey running: the text goes to the commands again.
    await driver.type(ann.id, "help");
    await driver.said(ann.chat, /stop/i);
    expect(await driver.answers(id)).toHaveLength(2);
  });

  it("a survey with whenBusy interrupt takes over; afterwards the interrupted one resumes at the question it stopped at", async () => {
    const [, bob] = people;
    if (!bob) throw new Error("no user");
    const s = await driver.survey([bob.id], three("S"));
    await driver.said(bob.chat, /Survey S begins.*S question one\?/);
    await driver.type(bob.id, "first S answer");
    await driver.said(bob.chat, /S question two\?/);
    const i = await driver.survey([bob.id], three("I", "interrupt"));
    await driver.said(bob.chat, /continues right after.*Survey I begins.*I question one\?/);
    await driver.type(bob.id, "first I answer");
    await driver.said(bob.chat, /I question two\?/);
    await driver.type(bob.id, "no");
    await driver.said(bob.chat, /Survey I is done.*Back to the survey.*S question two\?/);
    await driver.type(bob.id, "Yes");
    await driver.said(bob.chat, /S question three\?/);
    await driver.type(bob.id, "last S answer");
    await driver.said(bob.chat, /Survey S is done/);
    expect(await driver.answers(s)).toEqual([
      { question: "S1", text: "first S answer" },
      { question: "S2", text: "Yes", choice: "Yes" },
      { question: "S3", text: "last S answer" },
    ]);
    expect(await driver.answers(i)).toEqual([
      { question: "I1", text: "first I answer" },
      { question: "I2", text: "no", choice: "No" },
    ]);
  });

  it("a survey sent while the person answers another waits (the default) and starts when that one ends; cancel ends a survey", async () => {
    const [, , cat] = people;
    if (!cat) throw new Error("no user");
    const s = await driver.survey([cat.id], three("S"));
    await driver.said(cat.chat, /S question one\?/);
    const w = await driver.survey([cat.id], three("W"));
    // Its row is done (nothing sent now): the chat still shows the first survey's question.
    const before = (await driver.botSaid(cat.chat)).length;
    await driver.delivered(w);
    expect((await driver.botSaid(cat.chat)).length).toBe(before);
    await driver.type(cat.id, "one");
    await driver.said(cat.chat, /S question two\?/);
    await driver.type(cat.id, "CANCEL");
    await driver.said(cat.chat, /Survey canceled.*Survey W begins.*W question one\?/);
    await driver.type(cat.id, "w one");
    await driver.said(cat.chat, /W question two\?/);
    await driver.type(cat.id, "cancel");
    await driver.said(cat.chat, /Survey canceled/);
    expect(await driver.answers(s)).toEqual([{ question: "S1", text: "one" }]);
    expect(await driver.answers(w)).toEqual([{ question: "W1", text: "w one" }]);
    const tenantId = (await driver.store.conversations.get(cat.chat))?.tenantId ?? "";
    const session = await driver.store.surveys.get(tenantId, cat.id);
    expect(session?.state.active).toBeUndefined();
    expect(session?.expiresAt).toBeUndefined();
  });

  it("a question left unanswered past HERALD_SURVEY_TIMEOUT ends the survey (injected clock); the waiting one starts", async () => {
    const [, , , dan] = people;
    if (!dan) throw new Error("no user");
    const s = await driver.survey([dan.id], three("S"));
    await driver.said(dan.chat, /S question one\?/);
    const w = await driver.survey([dan.id], three("W"));
    await driver.delivered(w);
    const hour = 3_600_000;
    // Not yet due: an hour later nothing ends.
    expect(await serviceAt(stack, driver.store, Date.now() + hour, 24 * hour).sweep()).toBe(0);
    expect(await serviceAt(stack, driver.store, Date.now() + 25 * hour, 24 * hour).sweep()).toBe(1);
    await driver.said(dan.chat, /has expired.*Survey W begins.*W question one\?/);
    expect(await driver.answers(s)).toEqual([]);
  });

  it("an answer Teams delivers twice (same activity id) is stored once and moves the survey on once", async () => {
    const [, , , , eve] = people;
    if (!eve) throw new Error("no user");
    const id = await driver.survey([eve.id], three("S"));
    const count = await driver.said(eve.chat, /S question one\?/);
    const chat = await driver.store.conversations.get(eve.chat);
    if (!chat) throw new Error("no chat");
    const activity = {
      type: "message",
      id: "answer-twice",
      serviceUrl: chat.serviceUrl,
      channelId: "msteams",
      from: { id: eve.id },
      recipient: { id: chat.bot.id },
      conversation: { id: chat.id, conversationType: "personal", tenantId: chat.tenantId },
      channelData: { tenant: { id: chat.tenantId } },
      text: "Yes",
    };
    await Promise.all([stack.herald.handler.handle(activity), stack.herald.handler.handle(activity)]);
    await stack.herald.handler.handle(activity);
    expect(await driver.said(eve.chat, /S question two\?/)).toBe(count + 1);
    expect(await driver.answers(id)).toEqual([{ question: "S1", text: "Yes" }]);
    const tenantId = chat.tenantId;
    expect((await driver.store.surveys.get(tenantId, eve.id))?.state.active).toEqual({ notificationId: id, index: 1 });
    // Nothing else was said (every reply row is final).
    await driver.idle();
    expect((await driver.botSaid(eve.chat)).length).toBe(count + 1);
  });
});
