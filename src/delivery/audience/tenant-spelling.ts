import { tenantSpellingMessage } from "../errors.js";
import type { Audience } from "../model.js";
import type { RecipientDirectory } from "../store/port.js";

/**
 * The 400 message for an `{all, tenantId}` audience that names its tenant in another letter case
 * than the stored chats (tenantSpellingMessage): it walks the chats stored under exactly that id
 * and would reach nobody. Undefined when the audience is fine. Checked wherever such an audience
 * is accepted: a send (engine.ts), an estimate, a series, a draft (`field` names it in the body).
 * `users` finds no chat either, but then creates one: it still sends, and is not refused. With
 * `includeUninstalled` the directory pass would do the same for everyone Graph lists, storing their
 * chats under the other spelling too (the tenant's chats then split between two): refused as well.
 */
export async function tenantSpellingProblem(
  audience: Audience,
  directory: SpellingLookup,
  field = "audience.tenantId",
): Promise<string | undefined> {
  const tenantId = "all" in audience ? audience.tenantId : undefined;
  return tenantId ? tenantIdSpellingProblem(tenantId, directory, field) : undefined;
}

/** Where the stored chats' spelling of a tenant is looked up (the directory, or the conversation store). */
type SpellingLookup = Pick<RecipientDirectory, "otherTenantSpelling">;

/** The 400 message for `tenantId`, named `field` in the request, when the stored chats spell it otherwise (tenantSpellingMessage). */
export async function tenantIdSpellingProblem(tenantId: string, lookup: SpellingLookup, field: string): Promise<string | undefined> {
  const stored = await lookup.otherTenantSpelling(tenantId);
  return stored === undefined ? undefined : tenantSpellingMessage(field, tenantId, stored);
}
