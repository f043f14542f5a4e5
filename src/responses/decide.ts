import { type Answerable, CHOICE_INPUT_ID } from "../delivery/message/responses.js";

/**
 * Decisions about one answer, from the card's data and the poll alone (pure). Each refusal carries
 * a stable code and the sentence the person sees; nothing is stored for a refusal.
 */

export type Refusal =
  | "HERALD_E_RESPONSE_UNKNOWN"
  | "HERALD_E_RESPONSE_NOT_RECIPIENT"
  | "HERALD_E_RESPONSE_CLOSED"
  | "HERALD_E_RESPONSE_DUPLICATE"
  | "HERALD_E_RESPONSE_BAD_OPTION"
  | "HERALD_E_RESPONSE_NO_CHOICE"
  | "HERALD_E_RESPONSE_WRONG_KIND";

/** What the person reads for each refusal. */
export const refusalText: Record<Refusal, string> = {
  HERALD_E_RESPONSE_UNKNOWN: "Herald does not know this message any more (it may have been recalled or deleted). Nothing was recorded.",
  HERALD_E_RESPONSE_NOT_RECIPIENT: "This message was sent to someone else, so your answer was not recorded.",
  HERALD_E_RESPONSE_CLOSED: "This poll is closed: your answer was not recorded.",
  HERALD_E_RESPONSE_DUPLICATE: "You already answered; your first answer stands.",
  HERALD_E_RESPONSE_BAD_OPTION: "That choice is not one of this poll's options; nothing was recorded. Pick one of the options shown.",
  HERALD_E_RESPONSE_NO_CHOICE: "Pick an option first, then press Vote.",
  HERALD_E_RESPONSE_WRONG_KIND: "This button does not belong to this message; nothing was recorded.",
};

/**
 * The option indexes a poll answer names: `data.heraldChoice` as the Input.ChoiceSet sends it
 * ("2", or "0,2" for a multi-select), or `data.options` as an array of indexes. Refuses indexes
 * that are not whole numbers within the poll, several options for a single-choice poll, and none.
 */
export function chosenOptions(a: Answerable, data: unknown): { ok: true; options: number[] } | { ok: false; refusal: Refusal } {
  if (a.kind !== "poll") return { ok: false, refusal: "HERALD_E_RESPONSE_WRONG_KIND" };
  const d = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  const raw = d[CHOICE_INPUT_ID] ?? d["options"];
  let parts: unknown[];
  if (typeof raw === "string")
    parts = raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s !== "");
  else if (typeof raw === "number") parts = [raw];
  else if (Array.isArray(raw)) parts = raw;
  else if (raw === undefined || raw === null) parts = [];
  else return { ok: false, refusal: "HERALD_E_RESPONSE_BAD_OPTION" };
  if (parts.length === 0) return { ok: false, refusal: "HERALD_E_RESPONSE_NO_CHOICE" };
  const options: number[] = [];
  for (const p of parts) {
    const n = typeof p === "number" ? p : typeof p === "string" && /^\d{1,3}$/.test(p) ? Number(p) : Number.NaN;
    if (!Number.isInteger(n) || n < 0 || n >= a.poll.options.length) return { ok: false, refusal: "HERALD_E_RESPONSE_BAD_OPTION" };
    if (!options.includes(n)) options.push(n);
  }
  if (options.length > 1 && a.poll.multiple !== true) return { ok: false, refusal: "HERALD_E_RESPONSE_BAD_OPTION" };
  return { ok: true, options: options.sort((x, y) => x - y) };
}

/** A poll is closed once `closesAt` has passed. */
export function isClosed(a: Answerable, nowMs: number): boolean {
  return a.kind === "poll" && a.poll.closesAt !== undefined && Date.parse(a.poll.closesAt) <= nowMs;
}
