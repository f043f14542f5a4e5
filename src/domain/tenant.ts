/** A Microsoft Entra tenant id: a GUID. */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A tenant id in the one letter case Herald keeps: a GUID in lower case (as Teams sends it in
 * `channelData.tenant.id`), anything else as given (the emulator's and tests' named tenants).
 *
 * Stored chats, preferences, tenant settings and the `all` audience's tenant are matched exactly
 * (by index). A tenant id typed in upper case (as some admin portals and scripts show it) was
 * therefore a different tenant: a preference saved under it was ignored at sending (a person who
 * had opted out was messaged), `{all: true, tenantId}` reached nobody, and a key limited to it
 * could not see its own notifications. Every tenant id that enters Herald (API requests, API keys'
 * tenant lists, Teams activities) goes through here, so all of them meet in one spelling.
 */
export function canonicalTenantId(tenantId: string): string {
  return GUID.test(tenantId) ? tenantId.toLowerCase() : tenantId;
}
