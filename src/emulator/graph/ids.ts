import type { Org } from "../org/model.js";

/**
 * Graph's ids for the app and its installations, made without tables: an installation id is
 * base64 of `<owner id>##<catalog app id>` (the form Graph itself returns), where the owner is
 * a user's Entra object id, a team's group id or a group chat id; an app definition id is
 * base64 of `<catalog app id>##<version>##Published`.
 */

/** `<owner>##<catalog id>` as Graph encodes an installation id. */
export function installationId(ownerId: string, catalogId: string): string {
  return Buffer.from(`${ownerId}##${catalogId}`, "utf8").toString("base64");
}

/** The owner and catalog app of an installation id, or undefined when it is not one. */
export function decodeInstallationId(id: string): { ownerId: string; catalogId: string } | undefined {
  if (!/^[A-Za-z0-9+/=_-]+$/.test(id)) return undefined;
  const text = Buffer.from(id, "base64").toString("utf8");
  const cut = text.indexOf("##");
  if (cut <= 0) return undefined;
  return { ownerId: text.slice(0, cut), catalogId: text.slice(cut + 2) };
}

/** Id of the published definition of a catalog app. */
export function appDefinitionId(catalogId: string, version: string): string {
  return Buffer.from(`${catalogId}##${version}##Published`, "utf8").toString("base64");
}

/** `.../appCatalogs/teamsApps/{id}` or `.../appCatalogs/teamsApps('{id}')` → id. */
export function catalogIdFromBind(bind: string): string | undefined {
  const m = /\/appCatalogs\/teamsApps(?:\/([^/?#()']+)|\('([^']+)'\))\/?$/i.exec(bind);
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * Index of the user Graph names by `id`: an Entra object id, or a user principal name (UPN)
 * such as `ada.lovelace12@contoso.onmicrosoft.com`. Teams ids (`29:...`) are not Graph ids.
 * Generated UPNs end with the user's number within the tenant, so they decode without a
 * table; the answer is checked against the user's real UPN. -1 when none.
 */
export function graphUserIndex(org: Org, id: string): number {
  if (id.startsWith("29:") || id.startsWith("8:")) return -1;
  const direct = org.userIndexOf(id);
  if (direct >= 0) return direct;
  const m = /(\d+)@([^@]+)$/.exec(id);
  if (!m) return -1;
  const tenant = org.tenantByIdOrDomain(m[2]!);
  const k = Number(m[1]);
  if (!tenant || !Number.isSafeInteger(k) || k >= tenant.userCount) return -1;
  const index = tenant.userStart + k;
  return org.user(index).userPrincipalName.toLowerCase() === id.toLowerCase() ? index : -1;
}
