import { type Answerable, CHOICE_INPUT_ID, type PollSpec, RESPONSE_VERB } from "../delivery/message/responses.js";
import type { ResponseTotals } from "../store/responses.js";

/**
 * The cards of an answerable message after it was sent (pure): the clicker's own view (their
 * answer, the live totals, "closed") and the shared card of a channel post with the running totals.
 * Both start from the card as first sent (rendered again from the stored message), so the message's
 * own text and card stay; only the poll's input, the answer buttons and a results block change.
 */

type Card = Record<string, unknown>;

/** What one person sees. `mine` is what they answered (`"anonymous"`: answered, choice not stored). */
export interface ViewState {
  totals: ResponseTotals;
  mine?: number[] | true | "anonymous" | undefined;
  closed: boolean;
  /** A sentence for this person at the top of the results: why nothing was stored, or a thank-you. */
  notice?: { text: string; tone: "good" | "attention" | "warning" } | undefined;
}

const isAnswerAction = (a: unknown): boolean =>
  typeof a === "object" &&
  a !== null &&
  typeof (a as { verb?: unknown }).verb === "string" &&
  (a as { verb: string }).verb.startsWith(RESPONSE_VERB);

const isChoiceInput = (e: unknown): boolean => typeof e === "object" && e !== null && (e as { id?: unknown }).id === CHOICE_INPUT_ID;

const percent = (n: number, of: number): string => (of === 0 ? "0%" : `${Math.round((100 * n) / of)}%`);

/** One line per option: a mark on the person's own choice, the count and share of answers. */
export function resultLines(poll: PollSpec, totals: ResponseTotals, mine?: readonly number[]): Card[] {
  return poll.options.map((title, i) => {
    const n = totals.options[i] ?? 0;
    const chosen = mine?.includes(i) === true;
    return {
      type: "ColumnSet",
      columns: [
        {
          type: "Column",
          width: "stretch",
          items: [{ type: "TextBlock", text: `${chosen ? "✔ " : ""}${title}`, wrap: true, weight: chosen ? "Bolder" : "Default" }],
        },
        { type: "Column", width: "auto", items: [{ type: "TextBlock", text: `${n} (${percent(n, totals.respondents)})` }] },
      ],
    };
  });
}

const people = (n: number, verb: string) => `${n} ${n === 1 ? "person" : "people"} ${verb}`;

function withoutAnswering(card: Card): { body: Card[]; actions: Card[] } {
  const body = (Array.isArray(card["body"]) ? card["body"] : []) as Card[];
  const actions = (Array.isArray(card["actions"]) ? card["actions"] : []) as Card[];
  return { body: body.filter((e) => !isChoiceInput(e)), actions: actions.filter((a) => !isAnswerAction(a)) };
}

/** The clicker's own view of the card: the answer buttons stay only while they may still answer. */
export function personalView(original: Card, a: Answerable, state: ViewState): Card {
  const answered = state.mine !== undefined;
  const canAnswer = !answered && !state.closed;
  const extra: Card[] = [];
  if (state.notice) extra.push({ type: "TextBlock", text: state.notice.text, wrap: true, color: state.notice.tone, weight: "Bolder" });
  if (a.kind === "poll") {
    if (!canAnswer) {
      const mine = Array.isArray(state.mine) ? state.mine : undefined;
      extra.push(...resultLines(a.poll, state.totals, mine));
      if (state.mine === "anonymous")
        extra.push({
          type: "TextBlock",
          text: "You answered (anonymously: your choice is not stored with your name).",
          wrap: true,
          isSubtle: true,
          size: "Small",
        });
    }
    extra.push(summaryLine(state, "answered"));
  } else {
    if (state.mine !== undefined) extra.push({ type: "TextBlock", text: "✔ You acknowledged this message.", wrap: true, color: "good" });
    extra.push(summaryLine(state, "acknowledged"));
  }
  if (canAnswer) {
    const body = (Array.isArray(original["body"]) ? original["body"] : []) as Card[];
    return { ...original, body: [...body, ...extra] };
  }
  const { body, actions } = withoutAnswering(original);
  const card: Card = { ...original, body: [...body, ...extra], actions };
  if (actions.length === 0) delete card["actions"];
  return card;
}

function summaryLine(state: ViewState, verb: string): Card {
  const closed = state.closed ? " · Closed: no more answers are taken." : "";
  return {
    type: "TextBlock",
    text: `${people(state.totals.respondents, verb)} so far${closed}`,
    wrap: true,
    isSubtle: true,
    size: "Small",
  };
}

/**
 * The card everyone in a channel sees: the question and its buttons (until it closes) with the
 * running totals under them.
 */
export function sharedView(original: Card, a: Answerable, totals: ResponseTotals, closed: boolean): Card {
  const state: ViewState = { totals, closed };
  const results: Card[] = a.kind === "poll" ? resultLines(a.poll, totals) : [];
  results.push(summaryLine(state, a.kind === "poll" ? "answered" : "acknowledged"));
  if (!closed) {
    const body = (Array.isArray(original["body"]) ? original["body"] : []) as Card[];
    return { ...original, body: [...body, ...results] };
  }
  const { body, actions } = withoutAnswering(original);
  const card: Card = { ...original, body: [...body, ...results], actions };
  if (actions.length === 0) delete card["actions"];
  return card;
}

/** A card that only says something (an answer to a card Herald cannot place). */
export function noticeCard(text: string): Card {
  return { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text, wrap: true, color: "attention" }] };
}
