import { afterAll, beforeAll, expect, it } from "vitest";
import { STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";
import { control, sendAndWait } from "./helpers.js";

/** `GET /v1/notifications/{id}/responses`: a bad query is a 400 naming it, in JSON and in CSV alike. */
const stores = createStoreFactory("sqlite");
let stack: Stack;
let id: string;

beforeAll(async () => {
  stack = await startStack(await stores.open(), { emulator: { org: { users: 2, blockedShare: 0, uninstalledShare: 0 } } });
  await control(stack, "/_emulator/install", { users: [0], wait: true });
  ({ id } = await sendAndWait(stack, {
    audience: { conversations: [stack.emulator.org.personalConversationId(0)] },
    message: { poll: { question: "Q?", options: ["A", "B"] } },
  }));
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await stores.cleanup();
});

const get = async (query: string) => {
  const res = await fetch(`${stack.heraldUrl}/v1/notifications/${id}/responses?${query}`, {
    headers: { authorization: `Bearer ${STACK_API_KEY}` },
  });
  return { status: res.status, text: await res.text().catch((e: Error) => `(body failed: ${e.message})`) };
};

it("a cursor this server did not issue is a 400 HERALD_E_BAD_CURSOR, for the CSV download too (not a broken 200)", async () => {
  const json = await get("cursor=not-a-cursor");
  expect(json.status).toBe(400);
  expect(json.text).toContain("HERALD_E_BAD_CURSOR");
  const csv = await get("format=csv&cursor=not-a-cursor");
  expect(csv.status).toBe(400);
  expect(csv.text).toContain("HERALD_E_BAD_CURSOR");
});

it("fuzzed queries answer 400 naming the parameter, never 500", async () => {
  for (const [q, field] of [
    ["limit=0", "limit"],
    ["limit=abc", "limit"],
    ["limit=1.5", "limit"],
    ["format=xml", "format"],
    ["colour=red", "colour"],
  ] as const) {
    const r = await get(q);
    expect(r.status, q).toBe(400);
    expect(r.text, q).toContain(field);
  }
});

it("an edit may not change a poll's options, multiple or anonymous (stored counts are by option index), nor drop it", async () => {
  const { id: pollId } = await sendAndWait(stack, {
    audience: { conversations: [stack.emulator.org.personalConversationId(0)] },
    message: { poll: { question: "Lunch?", options: ["Pizza", "Sushi", "Tacos"] } },
  });
  const patch = async (message: unknown) => {
    const res = await fetch(`${stack.heraldUrl}/v1/notifications/${pollId}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${STACK_API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ message }),
    });
    return { status: res.status, text: await res.text() };
  };
  for (const [message, field] of [
    [{ poll: { question: "Lunch?", options: ["Tacos", "Pizza", "Sushi"] } }, "message.poll.options"],
    [{ poll: { question: "Lunch?", options: ["Pizza", "Sushi"] } }, "message.poll.options"],
    [{ poll: { question: "Lunch?", options: ["Pizza", "Sushi", "Tacos"], anonymous: true } }, "message.poll.anonymous"],
    [{ poll: { question: "Lunch?", options: ["Pizza", "Sushi", "Tacos"], multiple: true } }, "message.poll.multiple"],
    [{ text: "no poll any more" }, "message.poll"],
    [{ ack: {} }, "message.poll"],
  ] as const) {
    const r = await patch(message);
    expect(r.status, JSON.stringify(message)).toBe(400);
    expect(r.text, JSON.stringify(message)).toContain(field);
  }
  // The question and closesAt may change (fix a typo, close early or later).
  const ok = await patch({ poll: { question: "Lunch today?", options: ["Pizza", "Sushi", "Tacos"], closesAt: "2031-01-01T00:00:00Z" } });
  expect(ok.status, ok.text).toBe(202);
});
