// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} in plain strings is the templating syntax under test.
import { describe, expect, it } from "vitest";
import { ADAPTIVE_CARD_CONTENT_TYPE, DEFAULT_MAX_CONTENT_BYTES, jsonBytes } from "../../src/delivery/message/activity.js";
import { MessageError, RenderError } from "../../src/delivery/message/errors.js";
import { prepareMessage } from "../../src/delivery/message/prepare.js";
import type { Recipient } from "../../src/delivery/message/recipient.js";
import { renderActivities, renderActivity } from "../../src/delivery/message/render.js";
import { type Message, messageSchema } from "../../src/delivery/message/schema.js";

const jane: Recipient = { id: "29:jane", name: "Jane Doe", locale: "fr-FR" };
const card = {
  type: "AdaptiveCard",
  version: "1.5",
  body: [{ type: "TextBlock", text: "Body" }],
  actions: [{ type: "Action.OpenUrl", title: "Open", url: "https://example.com" }],
};
const msg = (m: unknown): Message => messageSchema.parse(m);
const render = (m: unknown, r: Recipient = jane, data?: Record<string, unknown>) => renderActivity(prepareMessage(msg(m), { data }), r);

/** The MessageError prepareMessage throws for `m`. */
function refusal(m: unknown, data?: Record<string, unknown>): MessageError {
  try {
    prepareMessage(msg(m), { data });
  } catch (e) {
    if (e instanceof MessageError) return e;
    throw e;
  }
  throw new Error("expected prepareMessage to refuse the message");
}

describe("renderActivity: shapes", () => {
  it("text → a message with text and textFormat (markdown by default)", () => {
    expect(render({ text: "Hello" })).toEqual({ type: "message", text: "Hello", textFormat: "markdown" });
    expect(render({ text: "Hello", textFormat: "plain" })).toEqual({ type: "message", text: "Hello", textFormat: "plain" });
  });

  it("card → one Adaptive Card attachment, the card unchanged", () => {
    expect(render({ card })).toEqual({ type: "message", attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: card }] });
    expect(ADAPTIVE_CARD_CONTENT_TYPE).toBe("application/vnd.microsoft.card.adaptive");
  });

  it("text and card → ONE activity: the text is the card's leading TextBlock, no text field", () => {
    const a = render({ text: "**Read this**", card });
    expect(a.text).toBeUndefined();
    expect(a.textFormat).toBeUndefined();
    expect(a.attachments).toHaveLength(1);
    expect(a.attachments![0]!.content).toEqual({ ...card, body: [{ type: "TextBlock", text: "**Read this**", wrap: true }, ...card.body] });
    // A card with actions only gets a body.
    const actionsOnly = { type: "AdaptiveCard", version: "1.5", actions: card.actions };
    expect(render({ text: "Hi", card: actionsOnly }).attachments![0]!.content.body).toEqual([
      { type: "TextBlock", text: "Hi", wrap: true },
    ]);
  });

  it("summary → summary; alert → channelData.notification.alert; alert false → nothing", () => {
    expect(render({ card, summary: "New survey", alert: true })).toMatchObject({
      summary: "New survey",
      channelData: { notification: { alert: true } },
    });
    expect(render({ text: "x", alert: false }).channelData).toBeUndefined();
  });

  it("a message without templating renders to equal, separate top-level objects with frozen shared content", () => {
    const p = prepareMessage(msg({ text: "Hi", card }));
    const a = renderActivity(p, jane);
    const b = renderActivity(p, { name: "Other" });
    expect(a).toEqual(b);
    expect(a).not.toBe(b);
    expect(Object.isFrozen(a.attachments![0]!.content)).toBe(true);
  });
});

describe("renderActivity: templating", () => {
  it("binds $root = {...data, recipient fields} in text, summary and card", () => {
    const a = render(
      {
        text: "Hello ${givenName}, about ${project}",
        summary: "${project} for ${name}",
        card: {
          type: "AdaptiveCard",
          version: "1.5",
          body: [
            { type: "TextBlock", text: "${toUpper(name)} (${locale})" },
            { type: "TextBlock", $data: "${items}", text: "- ${title}" },
            { type: "TextBlock", $when: "${equals(locale, 'fr-FR')}", text: "Bonjour" },
            { type: "TextBlock", $when: "${equals(locale, 'de-DE')}", text: "Hallo" },
          ],
        },
      },
      jane,
      { project: "Apollo", items: [{ title: "one" }, { title: "two" }] },
    );
    expect(a.summary).toBe("Apollo for Jane Doe");
    expect(a.attachments![0]!.content.body).toEqual([
      { type: "TextBlock", text: "Hello Jane, about Apollo", wrap: true },
      { type: "TextBlock", text: "JANE DOE (fr-FR)" },
      { type: "TextBlock", text: "- one" },
      { type: "TextBlock", text: "- two" },
      { type: "TextBlock", text: "Bonjour" },
    ]);
  });

  it("derives givenName from name when Teams gave none, and renders unknown recipient fields as empty", () => {
    expect(render({ text: "Hi ${givenName}!" }, { name: "Doe, Jane" }).text).toBe("Hi Jane!");
    expect(render({ text: "Hi ${givenName}!" }, { name: "Jane Doe", givenName: "Janet" }).text).toBe("Hi Janet!");
    expect(render({ text: "Hi ${givenName}${surname}!" }, {}).text).toBe("Hi !");
    expect(
      render({ card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "[${email}]" }] } }, {}).attachments![0]!
        .content.body,
    ).toEqual([{ type: "TextBlock", text: "[]" }]);
  });

  it("keeps backticks, dollars and \\${ of ordinary text literal (Markdown code spans survive)", () => {
    expect(render({ text: "Run `npm ci`, ${givenName}: costs $5, `${name}` and \\${literal}" }).text).toBe(
      "Run `npm ci`, Jane: costs $5, `Jane Doe` and ${literal}",
    );
    const a = render({ card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "`x` \\${y} ${givenName}" }] } });
    expect(a.attachments![0]!.content.body).toEqual([{ type: "TextBlock", text: "`x` ${y} Jane" }]);
    expect(render({ text: "only \\${escaped}" }).text).toBe("only ${escaped}");
  });

  it("keeps every character of a card's literal text: quotes, backslashes, line breaks, braces", () => {
    const literal = "It's \"quoted\" \\ C:\\new\\table {x} }{ \n line 2 \t tab `code` $5 \\' end";
    const a = render({
      card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: literal + " \\${kept} ${givenName} " + literal }] },
    });
    expect(a.attachments![0]!.content.body).toEqual([{ type: "TextBlock", text: literal + " ${kept} Jane " + literal }]);
    const only = render({
      card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: literal + " \\${not an expression}" }] },
    });
    expect(only.attachments![0]!.content.body).toEqual([{ type: "TextBlock", text: literal + " ${not an expression}" }]);
  });

  it("keeps the type of a lone expression in a card (booleans, numbers, arrays)", () => {
    const a = render(
      {
        card: {
          type: "AdaptiveCard",
          version: "1.5",
          body: [{ type: "Input.Toggle", id: "t", title: "T", value: "${on}", isVisible: "${visible}", spacing: "${gap}" }],
        },
      },
      jane,
      { on: "true", visible: false, gap: 3 },
    );
    expect(a.attachments![0]!.content.body).toEqual([
      { type: "Input.Toggle", id: "t", title: "T", value: "true", isVisible: false, spacing: 3 },
    ]);
  });

  it("handles long templated strings (the card library alone spends ~60 µs per literal character)", () => {
    const long = "word ".repeat(2_400);
    const p = prepareMessage(
      msg({
        text: long + "${givenName}",
        card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: long + "${name}" }] },
      }),
    );
    const body = renderActivity(p, jane).attachments![0]!.content.body as { text: string }[];
    expect(body.map((b) => b.text)).toEqual([long + "Jane", long + "Jane Doe"]);
  });

  it("never evaluates values: a name that looks like an expression stays text", () => {
    expect(render({ text: "Hi ${name}" }, { name: "${surname} `x`" }).text).toBe("Hi ${surname} `x`");
    const a = render(
      { card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "Hi ${name}" }] } },
      { name: "${toUpper('x')}" },
    );
    expect(a.attachments![0]!.content.body).toEqual([{ type: "TextBlock", text: "Hi ${toUpper('x')}" }]);
  });

  it("gives text the same $root / $data names and functions as cards", () => {
    expect(
      render({ text: "${$root.name}|${$data.givenName}|${toLower(locale)}|${count(items)}|${items[1].title}" }, jane, {
        items: [{ title: "a" }, { title: "b" }],
      }).text,
    ).toBe("Jane Doe|Jane|fr-fr|2|b");
  });

  it("escapes values put into xml text", () => {
    expect(render({ text: "<b>${name}</b>", textFormat: "xml" }, { name: 'A & <B> "C"' }).text).toBe(
      "<b>A &amp; &lt;B&gt; &quot;C&quot;</b>",
    );
    expect(render({ text: "**${name}**" }, { name: "A & <B>" }).text).toBe("**A & <B>**");
  });

  it("renders nulls in data as empty strings", () => {
    expect(render({ text: "[${note}]" }, jane, { note: null }).text).toBe("[]");
    const a = render({ card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "a ${note} b" }] } }, jane, {
      note: null,
    });
    expect(a.attachments![0]!.content.body).toEqual([{ type: "TextBlock", text: "a  b" }]);
  });

  it("renderActivities prepares once per message and data object and follows a new data object", () => {
    const m = msg({ text: "${project}: hi ${givenName}" });
    expect(renderActivities(m, jane, { project: "A" }).text).toBe("A: hi Jane");
    expect(renderActivities(m, { name: "Bob" }, { project: "A" }).text).toBe("A: hi Bob");
    expect(renderActivities(m, jane, { project: "B" }).text).toBe("B: hi Jane");
    expect(() => renderActivities(msg({ text: "${nope}" }), jane)).toThrow(MessageError);
  });
});

describe("prepareMessage: templating errors up front, naming the field", () => {
  it.each([
    [{ text: "Hi ${name" }, undefined, "message.text", /message.text: a \$\{ has no closing \}/],
    [{ text: "Hi ${name\n}" }, undefined, "message.text", /no closing/],
    [{ text: "Hi ${'a' + `b`}" }, undefined, "message.text", /no closing/],
    [{ text: "Hi ${name)}" }, undefined, "message.text", /message.text: \$\{name\)\} cannot be read \(syntax error/],
    [{ text: "Hi ${ }" }, undefined, "message.text", /message.text: \$\{ \} cannot be read \(the expression is empty\)/],
    [{ text: "Hi ${frobnicate(name)}" }, undefined, "message.text", /frobnicate/],
    [
      { text: "Hi ${nmae}" },
      undefined,
      "message.text",
      /message.text: \$\{nmae\} refers to nothing: use a recipient field \(id, aadObjectId, name, givenName/,
    ],
    [{ summary: "${projet}", text: "x" }, { project: "A" }, "message.summary", /message.summary: \$\{projet\} refers to nothing/],
    [
      {
        card: {
          type: "AdaptiveCard",
          version: "1.5",
          body: [
            { type: "TextBlock", text: "ok" },
            { type: "TextBlock", text: "${toUpper(name}" },
          ],
        },
      },
      undefined,
      "message.card.body.1.text",
      /message.card.body.1.text: \$\{toUpper\(name\} cannot be read/,
    ],
    [
      { card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "${nope(1)} x" }] } },
      undefined,
      "message.card.body.0.text",
      /nope/,
    ],
    [
      {
        card: {
          type: "AdaptiveCard",
          version: "1.5",
          body: [
            { type: "TextBlock", text: "Hi" },
            { type: "TextBlock", text: "Due ${dueDate}" },
          ],
        },
      },
      { due: "today" },
      "message.card.body.1.text",
      /message.card.body.1.text: \$\{dueDate\} refers to nothing/,
    ],
    [
      { card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", $data: "${items}", text: "${titel}" }] } },
      { items: [{ title: "a" }] },
      "message.card.body.0.text",
      /\$\{titel\} refers to nothing/,
    ],
    [
      { card: { type: "AdaptiveCard", version: "1.5", $when: "${equals(1, 2)}", body: [{ type: "TextBlock", text: "x" }] } },
      undefined,
      "message.card",
      /one card/,
    ],
    [{ text: "Hi ${name}" }, { name: "Override" }, "data.name", /data.name: "name" is a recipient field/],
  ])("%j with data %j → %s", (m, data, field, message) => {
    const e = refusal(m, data);
    expect(e.code).toMatch(/HERALD_E_TEMPLATE|HERALD_E_INVALID_MESSAGE/);
    expect(e.field).toBe(field);
    expect(e.message).toMatch(message);
  });
});

describe("size: Teams' ~28 KB", () => {
  const bigCard = (kb: number) => ({
    type: "AdaptiveCard",
    version: "1.5",
    body: Array.from({ length: kb }, (_, i) => ({ type: "TextBlock", text: `${i} ${"x".repeat(1000)}` })),
  });

  it("refuses an oversized card, text or combination up front, naming the field", () => {
    const e = refusal({ card: bigCard(31) });
    expect(e.code).toBe("HERALD_E_MESSAGE_TOO_LARGE");
    expect(e.field).toBe("message.card");
    expect(e.message).toMatch(/^message\.card: 3\d\.\d KB; Teams accepts at most 28 KB per message/);
    expect(refusal({ text: "y".repeat(30_000) }).field).toBe("message.text");
    const both = refusal({ text: "y".repeat(15_000), card: bigCard(13) });
    expect(both.field).toBe("message.text");
    expect(both.message).toMatch(/KB in all/);
  });

  it("counts multi-byte characters as Teams does (UTF-8 bytes)", () => {
    expect(refusal({ text: "é".repeat(14_500) }).code).toBe("HERALD_E_MESSAGE_TOO_LARGE");
    expect(() => prepareMessage(msg({ text: "e".repeat(14_500) }))).not.toThrow();
  });

  it("refuses a template that only grows too large once expanded with data", () => {
    const m = { card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", $data: "${rows}", text: "${value}" }] } };
    const e = refusal(m, { rows: Array.from({ length: 40 }, () => ({ value: "z".repeat(1_000) })) });
    expect(e).toMatchObject({ code: "HERALD_E_MESSAGE_TOO_LARGE", field: "message.card" });
    expect(e.message).toMatch(/once rendered with data/);
  });

  it("throws a typed RenderError when one recipient's values push the activity over the limit", () => {
    const p = prepareMessage(msg({ text: "x".repeat(DEFAULT_MAX_CONTENT_BYTES - 2_000) + " ${name}" }));
    expect(jsonBytes(renderActivity(p, jane))).toBeLessThanOrEqual(DEFAULT_MAX_CONTENT_BYTES);
    let error: unknown;
    try {
      renderActivity(p, { name: "n".repeat(3_000) });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RenderError);
    expect(error).toMatchObject({ code: "HERALD_E_MESSAGE_TOO_LARGE", field: "message.text" });
    expect((error as RenderError).bytes).toBeGreaterThan(DEFAULT_MAX_CONTENT_BYTES);
  });

  it("throws a typed RenderError when an expression fails for one recipient only", () => {
    const p = prepareMessage(msg({ text: "Hi ${substring(name, 0, 5)}" }));
    expect(renderActivity(p, { name: "Janet Doe" }).text).toBe("Hi Janet");
    expect(() => renderActivity(p, { name: "Al" })).toThrow(RenderError);
    try {
      renderActivity(p, { name: "Al" });
    } catch (e) {
      expect(e).toMatchObject({ code: "HERALD_E_TEMPLATE", field: "message.text" });
    }
  });

  it("names the message, not the card Herald built, when one recipient's values push a poll or ack over the limit", () => {
    const tooLarge = (m: unknown): RenderError => {
      const p = prepareMessage(msg(m));
      expect(jsonBytes(renderActivity(p, jane))).toBeLessThanOrEqual(DEFAULT_MAX_CONTENT_BYTES);
      try {
        renderActivity(p, { name: "n".repeat(30_000) });
      } catch (e) {
        if (e instanceof RenderError) return e;
        throw e;
      }
      throw new Error("expected a RenderError");
    };
    const poll = tooLarge({ poll: { question: "Lunch, ${name}?", options: ["Yes", "No"] } });
    expect(poll).toMatchObject({ code: "HERALD_E_MESSAGE_TOO_LARGE", field: "message" });
    expect(poll.message).toMatch(/^message: \d/);
    expect(tooLarge({ text: "Policy for ${name}", ack: {} })).toMatchObject({ field: "message" });
    // With a card of the caller's own, the card is what the caller wrote: named as such.
    const own = tooLarge({ card: { ...card, body: [{ type: "TextBlock", text: "${name}" }] }, ack: {} });
    expect(own).toMatchObject({ field: "message.card" });
  });

  it("takes a different budget", () => {
    expect(() => prepareMessage(msg({ text: "x".repeat(600) }), { maxBytes: 512 })).toThrow(
      /at most 28 KB per message and Herald keeps 27.5 KB/,
    );
  });
});
