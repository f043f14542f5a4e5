import { withinTenants } from "../api/keys.js";
import type { Template } from "./port.js";

/**
 * A reader limited to some tenants sees a template only when every tenant of it is theirs: a
 * template saved by a key without a limit (every tenant) is not shown to limited keys, so one
 * customer's wording never reaches another's authors. An unlimited reader sees every template.
 * The same rule as for keys (`withinTenants`).
 */
export function mayReadTemplate(t: Pick<Template, "tenants">, reader: readonly string[] | undefined): boolean {
  return withinTenants(reader, t.tenants);
}
