import { describe, expect, it } from "vitest";
import { MessageError } from "../../src/delivery/message/errors.js";
import { parseMessage } from "../../src/delivery/message/schema.js";

const card = { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "Hi" }] };

describe("message schema", () => {
  it.each([
    [{ text: "Hello" }],
    [{ text: "Hello", textFormat: "plain" }],
    [{ text: "<b>Hi</b>", textFormat: "xml", summary: "Hi", alert: true }],
    [{ card }],
    [{ card: { type: "AdaptiveCard", version: "1.4", actions: [{ type: "Action.OpenUrl", url: "https://example.com" }] } }],
    [
      {
        card: { ...card, $schema: "http://adaptivecards.io/schemas/adaptive-card.json", msteams: { width: "Full" } },
        text: "Intro",
        summary: "S",
      },
    ],
  ])("accepts %j", (input) => {
    const r = parseMessage(input);
    expect(r.ok).toBe(true);
  });

  it.each([
    [{ text: "Hi", colour: "red" }, "message", /message: unknown field "colour"; remove it/],
    [{ text: "Hi", a: 1, b: 2 }, "message", /unknown fields "a", "b"; remove them/],
    [{}, "message", /message: give text, a card, or both/],
    [{ summary: "only a summary" }, "message", /give text, a card, or both/],
    [{ text: "" }, "message.text", /message.text: must not be empty/],
    [{ text: "   " }, "message.text", /must not be empty/],
    [{ text: 5 }, "message.text", /message.text: must be a string/],
    [{ text: "Hi", textFormat: "html" }, "message.textFormat", /message.textFormat: must be "markdown", "plain" or "xml"/],
    [{ card, textFormat: "plain" }, "message.textFormat", /given without text/],
    [{ card, text: "<b>x</b>", textFormat: "xml" }, "message.textFormat", /cannot be "xml" with a card/],
    [{ text: "Hi", alert: "yes" }, "message.alert", /message.alert: must be true or false/],
    [{ text: "Hi", summary: "" }, "message.summary", /message.summary: must not be empty/],
    [{ card: "not a card" }, "message.card", /message.card: must be an Adaptive Card object/],
    [{ card: [card] }, "message.card", /message.card: must be an Adaptive Card object/],
    [{ card: { ...card, type: "HeroCard" } }, "message.card.type", /message.card.type: must be "AdaptiveCard"/],
    [{ card: { type: "AdaptiveCard", body: card.body } }, "message.card.version", /message.card.version: is required/],
    [{ card: { ...card, version: 1.5 } }, "message.card.version", /message.card.version: must be a version string such as "1.5"/],
    [{ card: { ...card, version: "latest" } }, "message.card.version", /must be a version string such as "1.5"/],
    [{ card: { ...card, body: { type: "TextBlock" } } }, "message.card.body", /message.card.body: must be an array of elements/],
    [
      { card: { ...card, body: [{ type: "TextBlock" }, { text: "no type" }] } },
      "message.card.body.1.type",
      /message.card.body.1.type: every element needs a string "type"/,
    ],
    [{ card: { ...card, actions: [{ title: "Go" }] } }, "message.card.actions.0.type", /message.card.actions.0.type/],
    [{ card: { type: "AdaptiveCard", version: "1.5", body: [] } }, "message.card", /message.card: needs at least one element/],
  ])("refuses %j naming %s", (input, field, message) => {
    const r = parseMessage(input);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toBeInstanceOf(MessageError);
    expect(r.error.code).toBe("HERALD_E_INVALID_MESSAGE");
    expect(r.error.field).toBe(field);
    expect(r.error.message).toMatch(message);
  });

  it("prefixes fields with the caller's path", () => {
    const r = parseMessage({ text: "Hi", foo: 1 }, "body.message");
    expect(!r.ok && r.error.message).toMatch(/^body\.message: unknown field "foo"/);
  });
});
