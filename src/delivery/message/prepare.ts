import { GlobalSettings, Template } from "adaptivecards-templating";
import { ADAPTIVE_CARD_CONTENT_TYPE, DEFAULT_MAX_CONTENT_BYTES, jsonBytes, type MessageActivity } from "./activity.js";
import { kb, MessageError, RenderError } from "./errors.js";
import { type Recipient, recipientFields, recipientValues, sampleRecipient } from "./recipient.js";
import { answerableCard, answerableOf } from "./responses.js";
import type { Message, TextFormat } from "./schema.js";
import { type CompiledText, cardString, compileText, escapeXml, firstLine, isTemplated, renderText, TextScope } from "./template.js";

export interface PrepareOptions {
  /** Values the templates may use besides the recipient fields (the notification's `data`). */
  readonly data?: Readonly<Record<string, unknown>> | undefined;
  /** Largest rendered activity in bytes (default 27 KB: Teams' 28 KB minus 1 KB for addressing). */
  readonly maxBytes?: number;
  /** Path of the message in the request, for errors (default `message`). */
  readonly field?: string;
  /** Path of data in the request, for errors (default `data`). */
  readonly dataField?: string;
}

interface CardPlan {
  /** The library's parsed template, when some card string is templated; built once per message. */
  readonly template: Template | undefined;
  /** The card itself (deep-frozen) when nothing in it is templated. */
  readonly fixed: Readonly<Record<string, unknown>> | undefined;
}

/**
 * A message checked and compiled once, rendered for each recipient by renderActivity. Holds the
 * parsed templates: a broadcast renders the same message up to a million times.
 */
export class PreparedMessage {
  /** @internal */ readonly text: CompiledText | undefined;
  /** @internal */ readonly summary: CompiledText | undefined;
  /** @internal */ readonly card: CardPlan | undefined;
  /** @internal */ readonly textFormat: TextFormat;
  /** @internal */ readonly alert: boolean;
  /** @internal */ readonly data: Readonly<Record<string, unknown>>;
  /** Largest rendered activity in bytes (PrepareOptions.maxBytes). */
  readonly maxBytes: number;
  /** @internal */ readonly field: string;
  /**
   * @internal What a recipient's size error about the card names: `message.card`, or `message`
   * for a poll or ack whose card Herald built (no card of the caller's), as the up-front errors do
   * (inRequestTerms).
   */
  readonly cardField: string;
  /** @internal The activity every recipient gets when nothing is templated (rendering is then a copy). */
  readonly fixed: MessageActivity | undefined;

  /** @internal Use prepareMessage. */
  constructor(parts: Omit<PreparedMessage, "fixed">, fixed: MessageActivity | undefined) {
    this.text = parts.text;
    this.summary = parts.summary;
    this.card = parts.card;
    this.textFormat = parts.textFormat;
    this.alert = parts.alert;
    this.data = parts.data;
    this.maxBytes = parts.maxBytes;
    this.field = parts.field;
    this.cardField = parts.cardField;
    this.fixed = fixed;
  }
}

/**
 * Checks a (schema-valid) message up front and compiles its templates. Throws MessageError:
 * - HERALD_E_MESSAGE_TOO_LARGE naming the field that does not fit (`message.card: 31.0 KB; …`),
 *   measured on the template and again on the template rendered for a sample recipient;
 * - HERALD_E_TEMPLATE naming the field whose `${...}` cannot be parsed, calls an unknown
 *   function, or refers to nothing (expanded once with `sampleRecipient` and `data`);
 * - HERALD_E_INVALID_MESSAGE when `data` reuses a recipient field name.
 * Nulls in `data` render as "" (the card library fails on a null inside a string otherwise).
 */
export function prepareMessage(given: Message, options: PrepareOptions = {}): PreparedMessage {
  const field = options.field ?? "message";
  try {
    return prepare(withAnswerCard(given), field, options, cardFieldOf(given, field));
  } catch (e) {
    throw e instanceof MessageError ? inRequestTerms(e, given, field) : e;
  }
}

function prepare(message: Message, field: string, options: PrepareOptions, cardField: string): PreparedMessage {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CONTENT_BYTES;
  const data = sanitizeData(options.data ?? {}, options.dataField ?? "data");
  checkRawSize(message, field, maxBytes);

  const templated: { field: string; source: string }[] = [];
  const parts = {
    text: message.text === undefined ? undefined : compileText(message.text, `${field}.text`),
    summary: message.summary === undefined ? undefined : compileText(message.summary, `${field}.summary`),
    card: message.card === undefined ? undefined : planCard(message.card, `${field}.card`, templated),
    textFormat: message.textFormat ?? "markdown",
    alert: message.alert === true,
    data,
    maxBytes,
    field,
    cardField,
  };
  const sample = sampleRender(new PreparedMessage(parts, undefined), templated);
  const bytes = jsonBytes(sample);
  if (bytes > maxBytes) {
    const where = message.card ? `${field}.card` : `${field}.text`;
    throw new MessageError("HERALD_E_MESSAGE_TOO_LARGE", where, `${where}: ${kb(bytes)} once rendered with data; ${budget(maxBytes)}.`);
  }
  const templatedAnywhere = isDynamic(parts.text) || isDynamic(parts.summary) || parts.card?.template !== undefined;
  return new PreparedMessage(parts, templatedAnywhere ? undefined : deepFreeze(sample));
}

/**
 * Builds the activity for one `$root`. Text and card never share an activity: Teams would split
 * them and answer without an activity id, so the message could never be edited or recalled.
 * With both, the text becomes the card's leading TextBlock (wrap: true) and one activity goes.
 * @internal
 */
export function buildActivity(
  p: PreparedMessage,
  root: Readonly<Record<string, unknown>>,
  onMissing?: (expr: string, field: string) => void,
): MessageActivity {
  const escapeValue = p.textFormat === "xml" ? escapeXml : identity;
  const scope = isDynamic(p.text) || isDynamic(p.summary) ? new TextScope(root) : noScope;
  const textField = `${p.field}.text`;
  const text = p.text && renderText(p.text, scope, textField, escapeValue, onMissing && ((e) => onMissing(e, textField)));
  const summaryField = `${p.field}.summary`;
  const summary = p.summary && renderText(p.summary, scope, summaryField, identity, onMissing && ((e) => onMissing(e, summaryField)));
  let activity: MessageActivity;
  if (p.card) {
    let content = p.card.template ? expandCard(p.card.template, root, `${p.field}.card`) : p.card.fixed!;
    if (text !== undefined) {
      const body = Array.isArray(content.body) ? content.body : [];
      content = { ...content, body: [{ type: "TextBlock", text, wrap: true }, ...body] };
    }
    activity = { type: "message", attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content }] };
  } else {
    activity = { type: "message", text: text ?? "", textFormat: p.textFormat };
  }
  if (summary !== undefined) activity.summary = summary;
  if (p.alert) activity.channelData = { notification: { alert: true } };
  return activity;
}

/**
 * An error about the card built for a poll or ack (withAnswerCard) named by what the request
 * said: `message.poll.question`, `message.poll.options.1`, `message.ack.label`, and `message` for
 * the card as a whole (its size: the caller's text is rendered into it), rather than
 * `message.card.body.1.text` of a card the caller never wrote.
 */
function inRequestTerms(e: MessageError, given: Message, field: string): MessageError {
  const answerable = answerableOf(given);
  if (!answerable) return e;
  const card = `${field}.card`;
  const ownBody = Array.isArray(given.card?.body) ? given.card.body.length : 0;
  const ownActions = Array.isArray(given.card?.actions) ? given.card.actions.length : 0;
  let named: string | undefined;
  // The card as a whole (its size): the caller's text is in it too, so the message is named.
  if (e.field === card && given.card === undefined) named = field;
  else if (answerable.kind === "poll" && e.field === `${card}.body.${ownBody}.text`) named = `${field}.poll.question`;
  else if (answerable.kind === "poll") {
    const options = `${card}.body.${ownBody + 1}.choices.`;
    const index = e.field.startsWith(options) && e.field.endsWith(".title") ? e.field.slice(options.length, -".title".length) : "";
    if (/^\d+$/.test(index)) named = `${field}.poll.options.${index}`;
  } else if (e.field === `${card}.actions.${ownActions}.title`) named = `${field}.ack.label`;
  if (named === undefined) return e;
  const text = e.message.startsWith(e.field) ? named + e.message.slice(e.field.length) : e.message;
  return new MessageError(e.code, named, text);
}

/** What a recipient's size error about the card names (PreparedMessage.cardField). */
function cardFieldOf(given: Message, field: string): string {
  return answerableOf(given) && given.card === undefined ? field : `${field}.card`;
}

/** A poll or ack becomes the message's card (responses.ts); other messages are returned as they are. */
function withAnswerCard(message: Message): Message {
  const answerable = answerableOf(message);
  if (!answerable) return message;
  const { poll: _poll, ack: _ack, card, ...rest } = message;
  return { ...rest, card: answerableCard(answerable, card) as Message["card"] };
}

/** `{...data, ...recipient fields}`: what `${...}` sees as `$root`. */
export const rootFor = (p: PreparedMessage, r: Recipient): Record<string, unknown> => ({ ...p.data, ...recipientValues(r) });

function expandCard(template: Template, root: Readonly<Record<string, unknown>>, field: string): Record<string, unknown> {
  let out: unknown;
  try {
    out = template.expand({ $root: root });
  } catch (e) {
    throw new RenderError("HERALD_E_TEMPLATE", field, `${field}: templating failed: ${firstLine(e)}`);
  }
  if (typeof out !== "object" || out === null || Array.isArray(out) || (out as { type?: unknown }).type !== "AdaptiveCard") {
    throw new RenderError(
      "HERALD_E_TEMPLATE",
      field,
      `${field}: templating must produce one card (a $data or $when on the card itself removed or repeated it).`,
    );
  }
  return out as Record<string, unknown>;
}

function planCard(card: Record<string, unknown>, field: string, templated: { field: string; source: string }[]): CardPlan {
  const prepared = walkCard(card, field, templated);
  return templated.length === 0
    ? { template: undefined, fixed: deepFreeze(structuredClone(card)) }
    : { template: new Template(prepared), fixed: undefined };
}

/** Copies the card with every templated string checked and rewritten for the library (cardString), collecting where they are. */
function walkCard(node: unknown, path: string, templated: { field: string; source: string }[]): unknown {
  if (typeof node === "string") {
    if (!isTemplated(node)) return node;
    templated.push({ field: path, source: node });
    return cardString(node, path);
  }
  if (Array.isArray(node)) return node.map((v, i) => walkCard(v, `${path}.${i}`, templated));
  if (typeof node === "object" && node !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) out[k] = walkCard(v, `${path}.${k}`, templated);
    return out;
  }
  return node;
}

/** Renders for sampleRecipient, turning every problem into a MessageError naming its field. */
function sampleRender(p: PreparedMessage, templated: readonly { field: string; source: string }[]): MessageActivity {
  const missing: { expr: string; field: string }[] = [];
  const previous = GlobalSettings.getUndefinedFieldValueSubstitutionString;
  // The library reports an undefined field only through this global hook; expansion is
  // synchronous, so setting it for the duration of this one call affects nothing else.
  GlobalSettings.getUndefinedFieldValueSubstitutionString = (path: string) => {
    missing.push({ expr: path, field: templated.find((t) => t.source.includes(path))?.field ?? `${p.field}.card` });
    return undefined;
  };
  let activity: MessageActivity;
  try {
    activity = buildActivity(p, rootFor(p, sampleRecipient), (expr, field) => missing.push({ expr, field }));
  } catch (e) {
    if (e instanceof RenderError) throw new MessageError(e.code, e.field, e.message);
    throw e;
  } finally {
    GlobalSettings.getUndefinedFieldValueSubstitutionString = previous;
  }
  const first = missing[0];
  if (first) {
    throw new MessageError(
      "HERALD_E_TEMPLATE",
      first.field,
      `${first.field}: \${${first.expr}} refers to nothing: use a recipient field (${recipientFields.join(", ")}) or a key of data, or write \\\${ for a literal "\${".`,
    );
  }
  return activity;
}

/** Size of the template itself, before any rendering: the biggest part is named. */
function checkRawSize(message: Message, field: string, maxBytes: number): void {
  const sizes: [string, number][] = [
    [`${field}.card`, message.card ? jsonBytes(message.card) : 0],
    [`${field}.text`, message.text ? jsonBytes(message.text) : 0],
    [`${field}.summary`, message.summary ? jsonBytes(message.summary) : 0],
  ];
  const total = sizes.reduce((s, [, n]) => s + n, 0) + 100; // + the activity's own fields
  if (total <= maxBytes) return;
  const [largest, bytes] = sizes.reduce((a, b) => (b[1] > a[1] ? b : a));
  const detail = bytes >= maxBytes ? kb(bytes) : `${kb(total)} in all, ${kb(bytes)} of it here`;
  throw new MessageError("HERALD_E_MESSAGE_TOO_LARGE", largest, `${largest}: ${detail}; ${budget(maxBytes)}.`);
}

const budget = (maxBytes: number) =>
  `Teams accepts at most 28 KB per message and Herald keeps ${kb(28 * 1024 - maxBytes)} for addressing, so ${kb(maxBytes)} remain: shorten it or split it into several notifications`;

function sanitizeData(data: Readonly<Record<string, unknown>>, dataField: string): Readonly<Record<string, unknown>> {
  for (const k of recipientFields) {
    if (Object.hasOwn(data, k)) {
      throw new MessageError(
        "HERALD_E_INVALID_MESSAGE",
        `${dataField}.${k}`,
        `${dataField}.${k}: "${k}" is a recipient field templates already see; rename the key.`,
      );
    }
  }
  return deepFreeze(nullsToEmpty(data) as Record<string, unknown>);
}

function nullsToEmpty(v: unknown): unknown {
  if (v === null) return "";
  if (Array.isArray(v)) return v.map(nullsToEmpty);
  if (typeof v === "object" && v !== undefined)
    return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, nullsToEmpty(x)]));
  return v;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

const identity = (s: string): string => s;
const noScope = new TextScope({});
const isDynamic = (t: CompiledText | undefined): boolean => t !== undefined && "parts" in t;
