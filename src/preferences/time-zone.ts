import type { PreferenceStore, Store } from "../store/ports.js";

type SettingsReader = Pick<PreferenceStore, "tenantSettings">;

/**
 * The tenant's default time zone (`PUT /v1/tenants/{id}` `timeZone`), for schedules of
 * recipients whose own zone Teams did not report; undefined when the tenant has none.
 * Usage: `const zoneOf = tenantTimeZone(store); await zoneOf(tenantId)` (the Store, or its `preferences`).
 */
export function tenantTimeZone(store: Pick<Store, "preferences"> | SettingsReader): (tenantId: string) => Promise<string | undefined> {
  const reader: SettingsReader = "preferences" in store ? store.preferences : store;
  return async (tenantId) => (await reader.tenantSettings(tenantId))?.timeZone;
}
