import { expect, it } from "vitest";
import { optedOut } from "../../src/delivery/audience/rows.js";
import type { Preference } from "../../src/domain/conversation.js";
import { commandText } from "../../src/inbound/events.js";
import { parsePreferenceCommand } from "../../src/preferences/commands.js";
import { PreferenceService } from "../../src/preferences/service.js";
import type { PreferenceStore } from "../../src/store/ports.js";

/**
 * Without HERALD_CATEGORIES (the default) any category name is accepted: the footer of a "News"
 * notification says "type stop News", the chat command arrives lower-cased, and the opt-out must
 * still stop "News" notifications (review of issue 11).
 */
it("stop News typed in the chat opts the person out of category News (names compared without regard to case)", async () => {
  const kept = new Map<string, Preference>();
  const store = {
    get: async (t: string, u: string) => kept.get(`${t}/${u}`),
    setOptedOutCategories: async (t: string, u: string, categories: readonly string[], at: string) => {
      const p: Preference = { tenantId: t, userId: u, optedOut: false, optedOutCategories: [...categories], updatedAt: at };
      kept.set(`${t}/${u}`, p);
      return p;
    },
  } as unknown as PreferenceStore;
  const service = new PreferenceService(store, undefined, () => "2027-03-01T00:00:00.000Z");
  const command = parsePreferenceCommand(
    commandText({ type: "message", text: "Stop News", conversation: { id: "a:1", conversationType: "personal" } } as never),
  );
  expect(command).toEqual({ kind: "stop", category: "news" });
  await service.stop("t1", "29:a", "news");
  const pref = kept.get("t1/29:a");
  expect(optedOut(pref, "News")).toBe(true);
  expect(optedOut(pref, "Alerts")).toBe(false);
  // start News (the API, or the footer's spelling) undoes it: no stale lower-case entry stays.
  await service.change("t1", "29:a", { categories: { News: true } });
  expect(kept.get("t1/29:a")?.optedOutCategories).toEqual([]);
});
