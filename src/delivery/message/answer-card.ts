import type { Answerable, PollSpec } from "./responses.js";

/**
 * The cards of the answerable parts of a message (issue 10), apart from their validation
 * (./responses.ts) so the dashboard's preview draws them with the same code without bundling zod.
 */

/** Verb prefix of every Action.Execute Herald puts on an answerable card. */
export const RESPONSE_VERB = "herald.response";
export const POLL_VERB = `${RESPONSE_VERB}.poll`;
export const ACK_VERB = `${RESPONSE_VERB}.ack`;
/** The card's `refresh` action: a user's own view (their answer and the live totals). */
export const VIEW_VERB = `${RESPONSE_VERB}.view`;
/** Id of the poll's Input.ChoiceSet: its value arrives in the action's data under this key. */
export const CHOICE_INPUT_ID = "heraldChoice";

type Card = Record<string, unknown>;

/** The "Vote" / "Acknowledge" action of the card as first sent. */
export function answerActions(a: Answerable): Card[] {
  if (a.kind === "ack") return [{ type: "Action.Execute", title: a.ack.label ?? "Acknowledge", verb: ACK_VERB, data: { herald: "ack" } }];
  return [{ type: "Action.Execute", title: "Vote", verb: POLL_VERB, data: { herald: "poll" } }];
}

/** The poll's question and its options as an Input.ChoiceSet (expanded; multi-select for `multiple`). */
export function pollBody(poll: PollSpec): Card[] {
  const body: Card[] = [
    { type: "TextBlock", text: poll.question, wrap: true, weight: "Bolder", size: "Medium" },
    {
      type: "Input.ChoiceSet",
      id: CHOICE_INPUT_ID,
      style: "expanded",
      isMultiSelect: poll.multiple === true,
      choices: poll.options.map((title, i) => ({ title, value: String(i) })),
    },
  ];
  const notes: string[] = [];
  if (poll.multiple) notes.push("Pick one or more.");
  if (poll.anonymous) notes.push("Anonymous: your name is not stored with your answer.");
  if (poll.closesAt) notes.push(`Closes ${poll.closesAt}.`);
  if (notes.length > 0) body.push({ type: "TextBlock", text: notes.join(" "), wrap: true, isSubtle: true, size: "Small" });
  return body;
}

/**
 * The card an answerable message is sent as: a poll's question and options, or the ack button
 * added to the message's own card (or to an empty one). `refresh` lets Teams show each viewer their
 * own view (their answer, live totals) by invoking VIEW_VERB; userIds stays empty (people refresh by hand).
 */
export function answerableCard(a: Answerable, card: Card | undefined): Card {
  const base: Card = card ? { ...card } : { type: "AdaptiveCard", version: "1.5", body: [] };
  const body = Array.isArray(base["body"]) ? [...(base["body"] as Card[])] : [];
  const actions = Array.isArray(base["actions"]) ? [...(base["actions"] as Card[])] : [];
  if (a.kind === "poll") body.push(...pollBody(a.poll));
  return {
    ...base,
    body,
    actions: [...actions, ...answerActions(a)],
    refresh: { action: { type: "Action.Execute", verb: VIEW_VERB, data: { herald: "view" } }, userIds: [] },
  };
}
