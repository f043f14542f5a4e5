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
  const bytes = jsonBytes(activity);
  if (bytes > prepared.maxBytes) {
    const field = activity.attachments ? `${prepared.field}.card` : `${prepared.field}.text`;
    throw new RenderError(
      "HERALD_E_MESSAGE_TOO_LARGE",
      field,
      `${field}: ${kb(bytes)} once rendered for this recipient; at most ${kb(prepared.maxBytes)} fit in a Teams message.`,
      bytes,
    );
  }
  return activity;
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
