import type { NewDelivery } from "../model.js";
import type { DirectoryGraph } from "./directory-graph.js";
import { canonicalUserId } from "./rows.js";

/** Row code of a `users` entry (UPN or email) the tenant's directory does not know. */
export const userNotFoundCode = "HERALD_E_USER_NOT_FOUND";

/** How many UPNs are resolved at once (Graph answers each in tens of ms). */
const PARALLEL = 8;

/**
 * `users` entries that are UPNs or emails (they contain `@`), resolved to Entra object ids
 * through Graph (`GET /users/{upn}`, else `$filter=mail eq`); other ids pass as they are.
 * `ids` keeps the order and drops repeats (two spellings of one person are one recipient);
 * an unknown name becomes a notFound row naming it. Without Graph or a tenant, names pass
 * unresolved (the install step can still install by UPN).
 */
export async function resolveNames(
  users: readonly string[],
  tenantId: string | undefined,
  graph: DirectoryGraph | undefined,
): Promise<{ ids: string[]; unknown: NewDelivery[] }> {
  const names = [...new Set(users.filter((u) => u.includes("@") && !u.startsWith("29:")))];
  if (names.length === 0 || !graph || tenantId === undefined) return { ids: [...users], unknown: [] };
  const resolved = new Map<string, string | undefined>();
  for (let i = 0; i < names.length; i += PARALLEL) {
    const batch = names.slice(i, i + PARALLEL);
    const found = await Promise.all(batch.map((n) => graph.findUser(tenantId, n)));
    for (const [k, n] of batch.entries()) resolved.set(n, found[k]?.id);
  }
  const ids: string[] = [];
  const seen = new Set<string>();
  const unknown: NewDelivery[] = [];
  for (const u of users) {
    const id = resolved.has(u) ? resolved.get(u) : u;
    if (id === undefined) {
      const key = `user:${tenantId}:${u.toLowerCase()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      unknown.push({
        recipientKey: key,
        kind: "user",
        tenantId,
        targetId: u,
        status: "notFound",
        errorCode: userNotFoundCode,
        errorMessage: `No user ${u} in tenant ${tenantId}'s directory (looked up as a user principal name and as an email through Microsoft Graph).`,
      });
      continue;
    }
    const key = canonicalUserId(id);
    if (seen.has(key)) continue;
    seen.add(key);
    ids.push(id);
  }
  return { ids, unknown };
}
