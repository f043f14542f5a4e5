import type { Message } from "../delivery/message/schema.js";
import type { Audience } from "../delivery/model.js";

/**
 * The short line at the end of a notification saying how to stop it (HERALD_UNSUBSCRIBE_FOOTER).
 * Decided once per notification when it is accepted (stored as `notifications.footer`), added to
 * the message when it is compiled, so an edit keeps it.
 */

/** `on` (every notification to people), `off`, `broadcasts` (audiences `all` and team members). */
export type FooterMode = "on" | "off" | "broadcasts";

/** HERALD_UNSUBSCRIBE_FOOTER parsed: a default mode and per-category overrides. */
export interface FooterPolicy {
  mode: FooterMode;
  /** Category name → footer on or off, whatever the audience. */
  categories: Readonly<Record<string, boolean>>;
}

export const defaultFooterPolicy: FooterPolicy = Object.freeze({ mode: "broadcasts", categories: Object.freeze({}) });

/**
 * Parse `broadcasts`, `on`, `off`, optionally followed by `,<category>=on|off` entries
 * (e.g. `broadcasts,alerts=off,news=on`); undefined when malformed.
 */
export function parseFooterPolicy(raw: string): FooterPolicy | undefined {
  const parts = raw
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  let mode: FooterMode = "broadcasts";
  const categories: Record<string, boolean> = {};
  for (const [i, part] of parts.entries()) {
    const kv = /^([^=\s]+)\s*=\s*(on|off)$/i.exec(part);
    if (kv?.[1] && kv[2]) {
      categories[kv[1]] = kv[2].toLowerCase() === "on";
      continue;
    }
    const m = part.toLowerCase();
    if (i === 0 && (m === "on" || m === "off" || m === "broadcasts")) mode = m;
    else return undefined;
  }
  return { mode, categories };
}

/** True when the audience reaches people rather than channels, and when it is a broadcast (everyone, a team's members). */
function audienceKind(audience: Audience): "broadcast" | "people" | "channels" {
  if ("all" in audience) return "broadcast";
  if ("teams" in audience) return audience.deliverTo === "members" ? "broadcast" : "channels";
  if ("channels" in audience) return "channels";
  return "people";
}

/**
 * Whether a notification carries the footer: the request's `footer` wins; then the category's
 * override; then the mode. Channel posts never do (a channel cannot opt out; its members stop
 * their own notifications in their chat).
 */
export function footerFor(
  policy: FooterPolicy,
  request: { audience: Audience; category?: string | undefined; footer?: boolean | undefined },
): boolean {
  const kind = audienceKind(request.audience);
  if (kind === "channels") return false;
  if (request.footer !== undefined) return request.footer;
  const byCategory = request.category === undefined ? undefined : policy.categories[request.category];
  if (byCategory !== undefined) return byCategory;
  return policy.mode === "on" || (policy.mode === "broadcasts" && kind === "broadcast");
}

/** The footer's words. */
export function footerText(category: string | undefined): string {
  // A category is the caller's text: never let it become a `${...}` template.
  const name = category?.replaceAll("${", "$ {");
  return name
    ? `To stop ${name} notifications, type stop ${name} (or settings for all choices).`
    : "To stop these notifications, type stop (or settings for all choices).";
}

/**
 * The message with the footer at its end: a subtle TextBlock appended to a card's body, else a
 * last line of text. The footer has no `${`, so templating leaves it as written.
 */
export function withFooter(message: Message, category: string | undefined): Message {
  const line = footerText(category);
  const card = message.card as Record<string, unknown> | undefined;
  if (card) {
    const body = Array.isArray(card["body"]) ? (card["body"] as unknown[]) : [];
    const block = { type: "TextBlock", text: line, isSubtle: true, size: "Small", wrap: true, spacing: "Medium" };
    return { ...message, card: { ...card, body: [...body, block] } as Message["card"] };
  }
  if (message.text === undefined) return message;
  const sep = message.textFormat === "xml" ? "<br/><br/>" : "\n\n";
  const words = message.textFormat === "xml" ? `<i>${line}</i>` : message.textFormat === "plain" ? line : `_${line}_`;
  return { ...message, text: `${message.text}${sep}${words}` };
}
