import { jsonBytes, type MessageActivity } from "./activity.js";
import { kb, RenderError } from "./errors.js";
import { buildActivity, type PreparedMessage, prepareMessage, rootFor } from "./prepare.js";
import type { Recipient } from "./recipient.js";
import type { Message } from "./schema.js";

/**
 * The activity to send to one recipient: text → `{type: "message", text, textFormat}`; card →
 * one Adaptive Card attachment; text and card → the card with the text as its first TextBlock
 * (never two parts in one activity: Teams would split it and return no id to edit or recall);
 * summary → `summary`; alert → `channelData.notification.alert = true`.
 *
 * Throws RenderError (HERALD_E_TEMPLATE, or HERALD_E_MESSAGE_TOO_LARGE when this recipient's
 * values push it past `maxBytes`): the engine records the delivery as `failed` with that code.
 */
export function renderActivity(prepared: PreparedMessage, recipient: Recipient): MessageActivity {
  if (prepared.fixed) return { ...prepared.fixed };
  const activity = buildActivity(prepared, rootFor(prepared, recipient));
  if (surelyFits(activity, prepared.maxBytes)) return activity;
  const bytes = jsonBytes(activity);
  if (bytes > prepared.maxBytes) {
    const field = activity.attachments ? prepared.cardField : `${prepared.field}.text`;
    throw new RenderError(
      "HERALD_E_MESSAGE_TOO_LARGE",
      field,
      `${field}: ${kb(bytes)} once rendered for this recipient; at most ${kb(prepared.maxBytes)} fit in a Teams message.`,
      bytes,
    );
  }
  return activity;
}

/** JSON of a text activity besides its text and summary: keys, `type`, `textFormat`, `channelData` (about 110 bytes). */
const TEXT_ACTIVITY_FRAME_BYTES = 256;

/**
 * Whether a text activity (no card) fits `maxBytes` without serializing it: a UTF-16 code unit
 * takes at most 6 bytes of JSON (`\u001f`; a non-ASCII character 3 bytes of UTF-8, a surrogate
 * pair 4 for two units). A broadcast of a short text then skips a JSON.stringify per recipient
 * (the request body is serialized once more anyway); a long text or a card is measured exactly.
 */
function surelyFits(activity: MessageActivity, maxBytes: number): boolean {
  if (activity.attachments !== undefined) return false;
  const units = (activity.text?.length ?? 0) + (activity.summary?.length ?? 0);
  return units * 6 + TEXT_ACTIVITY_FRAME_BYTES <= maxBytes;
}

const cache = new WeakMap<Message, { data: unknown; prepared: PreparedMessage }>();

/**
 * renderActivity for callers holding a Message rather than a PreparedMessage: prepares it on
 * first use and caches the result per message object (and data object), so a loop over
 * recipients parses the templates once. Throws MessageError on a message prepareMessage refuses.
 */
export function renderActivities(message: Message, recipient: Recipient, data?: Readonly<Record<string, unknown>>): MessageActivity {
  let entry = cache.get(message);
  if (!entry || entry.data !== data) {
    entry = { data, prepared: prepareMessage(message, { data }) };
    cache.set(message, entry);
  }
  return renderActivity(entry.prepared, recipient);
}
