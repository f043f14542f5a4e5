import { answerableCard } from "../delivery/message/answer-card.js";
import type { Answerable, PollSpec } from "../delivery/message/responses.js";
import type { Survey } from "../delivery/message/survey.js";
import { questionMessage, startWords } from "../surveys/messages.js";

/**
 * What a composed message looks like in Teams, from the same functions Herald sends with: a
 * poll's or an acknowledgement's card (responses.ts), the text as the card's first TextBlock,
 * and a survey's first question as the bot asks it (surveys/messages.ts). Pure: the preview and
 * its tests call it.
 */
export type PreviewOf = { kind: "text" | "markdown"; body: string } | { kind: "card"; body: string } | { kind: "error"; error: string };

type Json = Record<string, unknown>;

/** The preview of `message` (the `message` of `POST /v1/notifications`). */
export function previewOf(message: Json): PreviewOf {
  const survey = message["survey"] as Survey | undefined;
  if (survey) {
    const first = questionMessage(survey, 0, startWords(survey, false));
    if (first.card) return { kind: "card", body: JSON.stringify(first.card) };
    return { kind: "markdown", body: first.text ?? "" };
  }
  const text = typeof message["text"] === "string" ? (message["text"] as string) : undefined;
  const card = message["card"] as Json | undefined;
  const answerable = answerableOf(message);
  if (!answerable && message["poll"] !== undefined)
    return { kind: "error", error: "The poll needs a question and at least 2 options to preview." };
  if (!answerable) {
    if (!card) return { kind: message["textFormat"] === "plain" ? "text" : "markdown", body: text ?? "" };
    return { kind: "card", body: JSON.stringify(withText(card, text)) };
  }
  const base = answerableCard(answerable, card) as Json;
  return { kind: "card", body: JSON.stringify(withText(base, text)) };
}

/** Text and card go as one card: the text as its first TextBlock (as prepare.ts builds it). */
function withText(card: Json, text: string | undefined): Json {
  if (text === undefined) return card;
  const body = Array.isArray(card["body"]) ? (card["body"] as unknown[]) : [];
  return { ...card, body: [{ type: "TextBlock", text, wrap: true }, ...body] };
}

/** The poll or ack of a message being composed (checked loosely: the API validates it fully). */
function answerableOf(message: Json): Answerable | undefined {
  const poll = message["poll"] as PollSpec | undefined;
  if (poll) return poll.question?.trim() && (poll.options?.length ?? 0) >= 2 ? { kind: "poll", poll } : undefined;
  const ack = message["ack"] as { label?: string } | undefined;
  return ack ? { kind: "ack", ack } : undefined;
}
