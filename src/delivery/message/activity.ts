import type { TextFormat } from "./schema.js";

/** Content type of an Adaptive Card attachment. */
export const ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";

/**
 * The Bot Framework activity Herald sends for a message: the content only. The engine adds the
 * addressing (conversation, from, recipient) before POSTing it. Nested values of a message
 * without templating are shared between recipients and frozen: copy before changing them.
 */
export interface MessageActivity {
  type: "message";
  text?: string;
  textFormat?: TextFormat;
  attachments?: { contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE; content: Record<string, unknown> }[];
  /** Shown by the activity feed and notifications instead of "sent a card". */
  summary?: string;
  channelData?: { notification: { alert: true } };
}

/** Teams refuses activities over about 28 KB (413 MessageSizeTooBig; protocol reference, section 1). */
export const TEAMS_MAX_ACTIVITY_BYTES = 28 * 1024;

/** Kept for the addressing the engine adds (ids, names, serviceUrl: a few hundred bytes). */
export const ADDRESSING_RESERVE_BYTES = 1024;

/** Default budget of the content Herald renders: 27 KB. */
export const DEFAULT_MAX_CONTENT_BYTES = TEAMS_MAX_ACTIVITY_BYTES - ADDRESSING_RESERVE_BYTES;

/** UTF-8 size of the JSON Teams will receive for `value`. */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), "utf8");
