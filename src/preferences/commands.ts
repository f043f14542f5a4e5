import type { OutgoingMessage } from "../inbound/messages.js";
import { preferencesCard } from "./card.js";
import { type PreferenceService, UnknownCategoryError } from "./service.js";

/** A preferences command typed in the chat (lower-cased text, as commandText gives it). */
export type PreferenceCommand = { kind: "stop" | "start"; category: string } | { kind: "settings" };

const verbs: ReadonlyMap<string, "stop" | "start"> = new Map([
  ["stop", "stop"],
  ["unsubscribe", "stop"],
  ["start", "start"],
  ["subscribe", "start"],
]);

/**
 * `stop <category>`, `start <category>` (`unsubscribe`/`subscribe` too) and `settings`
 * (`preferences`); undefined for anything else, including plain `stop`/`start` (the handler's own
 * commands, which also cover `stop all` and `start all`).
 */
export function parsePreferenceCommand(text: string): PreferenceCommand | undefined {
  if (text === "settings" || text === "preferences") return { kind: "settings" };
  const m = /^(\S+) (.+)$/.exec(text);
  const kind = m?.[1] ? verbs.get(m[1]) : undefined;
  const category = m?.[2]?.trim();
  if (!kind || !category || category === "all") return undefined;
  return { kind, category };
}

/** Carry out a preferences command and say what changed (or what is wrong). */
export async function runPreferenceCommand(
  service: PreferenceService,
  command: PreferenceCommand,
  tenantId: string,
  userId: string,
  botName: string,
): Promise<OutgoingMessage> {
  if (command.kind === "settings") return { card: preferencesCard(await service.view(tenantId, userId)) };
  let category: string;
  try {
    category = service.canonical(command.category);
  } catch (e) {
    if (!(e instanceof UnknownCategoryError)) throw e;
    return { text: `I don't know the category "${command.category.slice(0, 40)}". Categories: ${e.known.join(", ")}.` };
  }
  const view = await (command.kind === "stop" ? service.stop : service.start).call(service, tenantId, userId, category);
  if (command.kind === "stop")
    return {
      text: `Done: you won't receive ${category} notifications from ${botName} any more. Type **start ${category}** to get them again.`,
    };
  const still = view.optedOut ? " You are still opted out of everything: type **start** to receive notifications again." : "";
  return { text: `Done: you'll receive ${category} notifications from ${botName} again.${still}` };
}
