import type { Activity } from "../inbound/activity.js";
import type { CardActionHandler } from "../inbound/card-actions.js";
import { tenantOf } from "../inbound/reference.js";
import { type PreferenceService, type PreferencesView, UnknownCategoryError } from "./service.js";

/** Verbs of the preferences card: `herald.preferences.save` (Action.Execute) and `.show` (refresh). */
export const preferencesVerb = "herald.preferences";
const saveVerb = `${preferencesVerb}.save`;
/** Input id of the "everything" toggle; category toggles are `category:<name>`. */
const allInput = "all";
const categoryInput = (c: string) => `category:${c}`;

/**
 * The preferences card: one toggle for every notification, one per category (the known ones and
 * those the person opted out of), saved with Action.Execute. `note` is shown under the title
 * (what the last save did).
 */
export function preferencesCard(view: PreferencesView, note?: string): Record<string, unknown> {
  const names = Object.keys(view.categories).sort();
  const body: Record<string, unknown>[] = [
    { type: "TextBlock", text: "Your notification settings", weight: "Bolder", size: "Medium", wrap: true },
  ];
  if (note) body.push({ type: "TextBlock", text: note, isSubtle: true, wrap: true });
  body.push({
    type: "Input.Toggle",
    id: allInput,
    title: "Receive notifications",
    value: view.optedOut ? "false" : "true",
    valueOn: "true",
    valueOff: "false",
  });
  if (names.length > 0) body.push({ type: "TextBlock", text: "Categories", weight: "Bolder", wrap: true, spacing: "Medium" });
  for (const c of names)
    body.push({
      type: "Input.Toggle",
      id: categoryInput(c),
      title: c,
      value: view.categories[c] ? "true" : "false",
      valueOn: "true",
      valueOff: "false",
    });
  if (names.length === 0)
    body.push({ type: "TextBlock", text: "Type stop <category> to stop one kind of notification.", isSubtle: true, wrap: true });
  return {
    type: "AdaptiveCard",
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    version: "1.4",
    body,
    actions: [{ type: "Action.Execute", title: "Save", verb: saveVerb, data: {} }],
  };
}

const truthy = (v: unknown): boolean | undefined => (v === true || v === "true" ? true : v === false || v === "false" ? false : undefined);

/**
 * The card's answers: `herald.preferences.save` stores the toggles it carries (inputs arrive in
 * `data` as "true"/"false") and shows the card again with what was saved; any other verb of the
 * prefix shows the current card.
 */
export function preferencesCardHandler(service: PreferenceService): CardActionHandler {
  return async (activity: Activity, verb: string, data: unknown) => {
    const tenantId = tenantOf(activity);
    const userId = activity.from.id;
    if (verb !== saveVerb) return preferencesCard(await service.view(tenantId, userId));
    const values = data && typeof data === "object" ? (data as Record<string, unknown>) : {};
    const categories: Record<string, boolean> = {};
    for (const [key, value] of Object.entries(values)) {
      const on = truthy(value);
      if (key.startsWith("category:") && on !== undefined) categories[key.slice("category:".length)] = on;
    }
    try {
      const view = await service.change(tenantId, userId, { optedOut: invert(truthy(values[allInput])), categories });
      return preferencesCard(view, view.optedOut ? "Saved: you receive no notifications." : "Saved.");
    } catch (e) {
      if (!(e instanceof UnknownCategoryError)) throw e;
      return preferencesCard(await service.view(tenantId, userId), `Not saved: ${e.message}`);
    }
  };
}

const invert = (v: boolean | undefined): boolean | undefined => (v === undefined ? undefined : !v);
