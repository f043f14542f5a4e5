import { existsSync, readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";

/**
 * HERALD_OIDC_ROLES: what a person signed in with OpenID Connect may do (issue 12). A JSON or
 * YAML mapping from an ID-token claim value to a grant; the key is `roles:<app role value>` (Entra
 * app roles, the `roles` claim) or `groups:<group object id>` (the `groups` claim):
 *
 * ```yaml
 * roles:Herald.Approver: { scopes: [approve, read] }
 * roles:Herald.Author:   { scopes: [draft, read], tenants: [72f988bf-…], teams: ["19:…@thread.tacv2"] }
 * groups:5b0c…:          { scopes: [send, read], groups: [5b0c…] }
 * ```
 *
 * A grant's `tenants`, `teams` and `groups` are the same guardrails as an API key's. Kept in the
 * settings (not the store) so the mapping is reviewed and deployed with the rest of the
 * configuration, and an admin API key cannot widen what people get.
 */

const scopeValues = ["send", "read", "admin", "draft", "approve"] as const;
const ids = (max: number) => z.array(z.string().min(1).max(300)).min(0).max(max);
const grantSchema = z.strictObject({
  scopes: z.array(z.enum(scopeValues)).min(1).max(5),
  tenants: ids(1000).min(1).optional(),
  teams: ids(1000).optional(),
  groups: ids(1000).optional(),
});
const keyPattern = /^(roles|groups):.+$/;
const mapSchema = z.record(z.string().regex(keyPattern), grantSchema);

/** One grant of HERALD_OIDC_ROLES. */
export type OidcGrant = z.infer<typeof grantSchema>;
/** HERALD_OIDC_ROLES, parsed: `roles:<value>` / `groups:<id>` → grant. */
export type OidcRoleMap = Readonly<Record<string, OidcGrant>>;

/** The HERALD_OIDC_ROLES parser (inline JSON/YAML, or `file:<path>`), in the shape config.ts's settings take. */
export function parseOidcRoles(raw: string): { ok: true; value: OidcRoleMap | undefined } | { ok: false; expected: string } {
  const text = raw.trim();
  if (text === "") return { ok: true, value: undefined };
  let source = text;
  if (text.startsWith("file:")) {
    const path = text.slice(5);
    if (!existsSync(path)) return { ok: false, expected: `file:<path> of an existing file (${path} does not exist)` };
    source = readFileSync(path, "utf8");
  }
  let value: unknown;
  try {
    value = parseYaml(source);
  } catch (e) {
    return { ok: false, expected: `JSON or YAML (${(e as Error).message.split("\n")[0]})` };
  }
  const wrongKey = value !== null && typeof value === "object" ? Object.keys(value).find((k) => !keyPattern.test(k)) : undefined;
  if (wrongKey !== undefined)
    return { ok: false, expected: `keys "roles:<app role value>" or "groups:<group object id>"; got "${wrongKey.slice(0, 100)}"` };
  const parsed = mapSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "the mapping";
    return {
      ok: false,
      expected: `a mapping of "roles:<value>" or "groups:<id>" to {scopes: [send|read|admin|draft|approve…], tenants?, teams?, groups?}; ${where}: ${issue?.message ?? "invalid"}`,
    };
  }
  if (Object.keys(parsed.data).length === 0) return { ok: false, expected: "at least one entry" };
  return { ok: true, value: Object.freeze(parsed.data) };
}

/** What a person may do, from their ID token's claims; undefined = no entry matches (sign-in refused). */
export interface PersonGrant {
  scopes: (typeof scopeValues)[number][];
  tenants?: string[] | undefined;
  teams?: string[] | undefined;
  groups?: string[] | undefined;
  /** The mapping keys that matched (logged and audited). */
  matched: string[];
  /**
   * Per scope, the reach of only the entries granting it: a scope is never used with the reach of
   * an entry that does not grant it (one entry's `send` in a team plus another's org-wide `read`
   * must not make an org-wide sender). requireScope narrows the principal to this.
   */
  byScope: Partial<Record<(typeof scopeValues)[number], Reach>>;
}

/** Tenants, teams and groups a principal may reach (undefined = no such limit). */
export interface Reach {
  tenants?: string[] | undefined;
  teams?: string[] | undefined;
  groups?: string[] | undefined;
}

/**
 * The union of several reaches: one without a tenant limit lifts the tenant limit; one without a
 * team/group limit lifts that limit.
 */
export function unionReach(
  reaches: readonly {
    tenants?: readonly string[] | undefined;
    teams?: readonly string[] | undefined;
    groups?: readonly string[] | undefined;
  }[],
): Reach {
  const union = (lists: (readonly string[] | undefined)[]): string[] => [...new Set(lists.flatMap((l) => l ?? []))];
  const tenants = reaches.every((g) => g.tenants) ? union(reaches.map((g) => g.tenants)) : undefined;
  const limited = reaches.every((g) => g.teams !== undefined || g.groups !== undefined);
  const teams = limited && reaches.some((g) => g.teams) ? union(reaches.map((g) => g.teams)) : undefined;
  const groups = limited && reaches.some((g) => g.groups) ? union(reaches.map((g) => g.groups)) : undefined;
  return { tenants, teams, groups };
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/**
 * The grants of every entry the claims match, combined: the union of their scopes, and of their
 * reach (a matching grant without a tenant limit lifts the tenant limit; one without a team/group
 * limit lifts that limit). Entra's group overage (more than 200 groups: `_claim_names` instead of
 * `groups`) gives no group matches: map app roles for such people.
 */
export function grantFor(claims: Record<string, unknown>, map: OidcRoleMap): PersonGrant | undefined {
  const keys = [...strings(claims["roles"]).map((r) => `roles:${r}`), ...strings(claims["groups"]).map((g) => `groups:${g}`)];
  const matched = keys.filter((k) => map[k] !== undefined);
  if (matched.length === 0) return undefined;
  const grants = matched.map((k) => map[k] as OidcGrant);
  const scopes = [...new Set(grants.flatMap((g) => g.scopes))];
  const { tenants, teams, groups } = unionReach(grants);
  const byScope: PersonGrant["byScope"] = {};
  for (const s of scopes) byScope[s] = unionReach(grants.filter((g) => g.scopes.includes(s)));
  return { scopes, tenants, teams, groups, matched, byScope };
}
