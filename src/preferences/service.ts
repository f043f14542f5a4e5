import type { Preference } from "../domain/conversation.js";
import type { PreferenceStore } from "../store/ports.js";

/**
 * A person's notification choices, the same whichever way they are made (a `stop`/`start`
 * command, the preferences card, `PUT /v1/users/{userId}/preferences`): opted out of everything,
 * and the categories they opted out of.
 */

/** How a person's preferences read: `categories` maps a category to true (receiving) or false (opted out). */
export interface PreferencesView {
  tenantId: string;
  userId: string;
  optedOut: boolean;
  categories: Record<string, boolean>;
  updatedAt: string | null;
}

/** A change: fields left undefined keep their value; `categories` entries not named keep theirs. */
export interface PreferencesChange {
  optedOut?: boolean | undefined;
  categories?: Readonly<Record<string, boolean>> | undefined;
}

/** A category the configuration does not know (HERALD_CATEGORIES); `field` names it for a 400. */
export class UnknownCategoryError extends Error {
  readonly code = "HERALD_E_UNKNOWN_CATEGORY";
  constructor(
    readonly category: string,
    readonly known: readonly string[],
    readonly field: string,
  ) {
    super(`${field}: "${category}" is not a known category; known: ${known.join(", ")} (HERALD_CATEGORIES).`);
  }
}

export class PreferenceService {
  constructor(
    private readonly store: PreferenceStore,
    /** HERALD_CATEGORIES; undefined = any name. */
    readonly categories: readonly string[] | undefined,
    private readonly now: () => string,
  ) {}

  /**
   * The category as configured (matched without regard to case: commands arrive lower-cased);
   * throws UnknownCategoryError when HERALD_CATEGORIES is set and does not list it.
   */
  canonical(category: string, field = "category"): string {
    if (!this.categories) return category;
    const found = this.categories.find((c) => c.toLowerCase() === category.toLowerCase());
    if (found === undefined) throw new UnknownCategoryError(category, this.categories, field);
    return found;
  }

  async view(tenantId: string, userId: string): Promise<PreferencesView> {
    return this.toView(tenantId, userId, await this.store.get(tenantId, userId));
  }

  async change(tenantId: string, userId: string, change: PreferencesChange): Promise<PreferencesView> {
    // Validate every name before writing anything.
    const named = Object.entries(change.categories ?? {}).map(([c, on]) => [this.canonical(c, `categories.${c}`), on] as const);
    let pref = await this.store.get(tenantId, userId);
    if (named.length > 0) {
      const out = new Set(pref?.optedOutCategories ?? []);
      for (const [c, receiving] of named) {
        // One entry per name whatever its case (`stop news`, then `start News`).
        for (const x of out) if (x.toLowerCase() === c.toLowerCase()) out.delete(x);
        if (!receiving) out.add(c);
      }
      pref = await this.store.setOptedOutCategories(tenantId, userId, [...out], this.now());
    }
    if (change.optedOut !== undefined && change.optedOut !== (pref?.optedOut ?? false))
      pref = await this.store.setOptedOut(tenantId, userId, change.optedOut, this.now());
    return this.toView(tenantId, userId, pref);
  }

  /** `stop` (everything) or `stop <category>`. */
  stop(tenantId: string, userId: string, category?: string): Promise<PreferencesView> {
    return category === undefined
      ? this.change(tenantId, userId, { optedOut: true })
      : this.change(tenantId, userId, { categories: { [category]: false } });
  }

  /** `start` (everything again; category choices kept) or `start <category>`. */
  start(tenantId: string, userId: string, category?: string): Promise<PreferencesView> {
    return category === undefined
      ? this.change(tenantId, userId, { optedOut: false })
      : this.change(tenantId, userId, { categories: { [category]: true } });
  }

  private toView(tenantId: string, userId: string, pref: Preference | undefined): PreferencesView {
    const categories: Record<string, boolean> = {};
    for (const c of this.categories ?? []) categories[c] = true;
    for (const c of pref?.optedOutCategories ?? []) categories[c] = false;
    return { tenantId, userId, optedOut: pref?.optedOut ?? false, categories, updatedAt: pref?.updatedAt ?? null };
  }
}
