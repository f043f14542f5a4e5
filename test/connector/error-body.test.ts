import { describe, expect, it } from "vitest";
import { parseErrorBody } from "../../src/connector/error-body.js";

/** The 403 body from Microsoft's documentation (proactive messaging, "blocked or uninstalled"). */
const DOCUMENTED_209 =
  '{"errorCode":209,"message":"{\\r\\n  \\"subCode\\": \\"MessageWritesBlocked\\",\\r\\n  \\"details\\": \\"Thread is blocked from message writes.\\",\\r\\n  \\"errorCode\\": null,\\r\\n  \\"errorSubCode\\": null\\r\\n}"}';

const inner = JSON.stringify({
  subCode: "MessageWritesBlocked",
  details: "Thread is blocked from message writes.",
  errorCode: null,
  errorSubCode: null,
});
const middle = JSON.stringify({ errorCode: 209, message: inner });

describe("parseErrorBody", () => {
  it("reads the documented envelope", () => {
    expect(parseErrorBody('{"error":{"code":"ConversationNotFound","message":"Conversation not found."}}')).toEqual({
      code: "ConversationNotFound",
      subCode: undefined,
      errorCode: undefined,
      message: "Conversation not found.",
    });
  });

  it("decodes the documented MessageWritesBlocked body twice", () => {
    expect(JSON.parse(DOCUMENTED_209).errorCode).toBe(209);
    expect(parseErrorBody(DOCUMENTED_209)).toEqual({
      code: undefined,
      subCode: "MessageWritesBlocked",
      errorCode: 209,
      message: "Thread is blocked from message writes.",
    });
  });

  it("decodes the subCode when the 209 body sits inside the Connector envelope", () => {
    const body = JSON.stringify({ error: { code: "Forbidden", message: middle } });
    expect(parseErrorBody(body)).toEqual({
      code: "Forbidden",
      subCode: "MessageWritesBlocked",
      errorCode: 209,
      message: "Thread is blocked from message writes.",
    });
  });

  it.each([
    [
      "message as an object, not a string",
      { error: { code: "Forbidden", message: { errorCode: 209, message: { subCode: "MessageWritesBlocked" } } } },
    ],
    ["the JSON string encoded once more", { error: { code: "Forbidden", message: JSON.stringify(middle) } }],
    ["errorCode as a numeric string", { error: { code: "Forbidden", message: JSON.stringify({ errorCode: "209", message: inner }) } }],
    ["a text prefix before the JSON", { error: { code: "Forbidden", message: `Forbidden: ${middle}` } }],
    ["subCode directly on error", { error: { code: "Forbidden", subCode: "MessageWritesBlocked", errorCode: 209 } }],
    [
      "errorSubCode instead of subCode",
      {
        error: {
          code: "Forbidden",
          message: JSON.stringify({ errorCode: 209, message: JSON.stringify({ errorSubCode: "MessageWritesBlocked" }) }),
        },
      },
    ],
  ])("tolerates %s", (_name, body) => {
    const facts = parseErrorBody(JSON.stringify(body));
    expect(facts.subCode).toBe("MessageWritesBlocked");
    expect(facts.code).toBe("Forbidden");
  });

  it("finds the subCode in a truncated body by scanning", () => {
    const full = JSON.stringify({ error: { code: "Forbidden", message: middle } });
    const truncated = full.slice(0, full.indexOf("details"));
    expect(() => JSON.parse(truncated)).toThrow();
    expect(parseErrorBody(truncated).subCode).toBe("MessageWritesBlocked");
  });

  it("does not read errorSubCode: null as a subCode", () => {
    const body = JSON.stringify({ errorCode: 209, message: JSON.stringify({ errorSubCode: null, errorCode: null }) });
    expect(parseErrorBody(body).subCode).toBeUndefined();
    expect(parseErrorBody(`${body.slice(0, -3)}`).subCode).toBeUndefined();
  });

  it.each([
    ["ConversationBlockedByUser", "User blocked the conversation with the bot."],
    ["BotDisabledByAdmin", "The tenant admin disabled this bot"],
    ["BotNotInConversationRoster", "The bot is not part of the conversation roster."],
    ["Throttled", "Too many requests."],
  ])("reads %s", (code, message) => {
    expect(parseErrorBody(JSON.stringify({ error: { code, message } }))).toMatchObject({ code, message, subCode: undefined });
  });

  it("keeps the outermost code when inner levels name another", () => {
    const body = JSON.stringify({ error: { code: "Forbidden", message: JSON.stringify({ code: "Inner", message: "x" }) } });
    expect(parseErrorBody(body).code).toBe("Forbidden");
  });

  it.each([
    ["plain text", "Service Unavailable", "Service Unavailable"],
    ["HTML from a proxy", "<html><body>502 Bad Gateway</body></html>", "<html><body>502 Bad Gateway</body></html>"],
    ["an empty body", "", undefined],
    ["whitespace", "  \n", undefined],
  ])("reads %s as a message without a code", (_name, body, message) => {
    expect(parseErrorBody(body)).toEqual({ code: undefined, subCode: undefined, errorCode: undefined, message });
  });

  it("sanitizes and bounds the message", () => {
    const facts = parseErrorBody(JSON.stringify({ error: { code: "X", message: `line1\u0000\u0007${"y".repeat(1000)}` } }));
    expect([...facts.message!].some((ch) => ch.charCodeAt(0) < 0x20)).toBe(false);
    expect(facts.message!.length).toBeLessThanOrEqual(301);
  });

  it("never throws on odd JSON", () => {
    for (const body of [
      "null",
      "42",
      "[]",
      "[1,2]",
      '"just a string"',
      "{",
      "}{",
      '{"error":null}',
      '{"error":"Forbidden"}',
      '{"message":12}',
    ]) {
      expect(() => parseErrorBody(body)).not.toThrow();
    }
    expect(parseErrorBody('"just a string"').message).toBe("just a string");
  });
});
