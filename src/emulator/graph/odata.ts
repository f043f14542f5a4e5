/**
 * The few OData query options the Graph subset understands, as pure functions:
 * `$filter` with `eq` clauses joined by `and` (string literals, `''` for a quote), `$expand`
 * as a list of navigation names (nested options in parentheses are read for `bot` only),
 * `$select` as a list of fields, `$top` within Graph's 1..999.
 */

/** One `path eq 'value'` clause; `path` uses `/` between segments, e.g. `teamsApp/id`. */
export interface FilterClause {
  path: string;
  value: string;
}

/** A parsed `$filter`, or the reason it cannot be read (Graph answers 400 BadRequest). */
export type Filter = { clauses: FilterClause[] } | { error: string };

/** One clause and what follows it (` and ` or the end), read with a sticky regex. */
const CLAUSE = /\s*([A-Za-z]\w*(?:\/[A-Za-z]\w*)*)\s+eq\s+'((?:[^']|'')*)'\s*(and\s+|$)/iy;

/** Parse a `$filter` value; undefined or empty means no filter. */
export function parseFilter(text: string | null | undefined): Filter {
  if (text === null || text === undefined || text.trim() === "") return { clauses: [] };
  const clauses: FilterClause[] = [];
  const re = new RegExp(CLAUSE.source, CLAUSE.flags);
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m || (m[3] === "" && re.lastIndex < text.length) || (m[3] !== "" && re.lastIndex === text.length)) {
      return { error: `Invalid filter clause: '${text}'. This Graph subset supports "<property> eq '<value>'" joined by "and".` };
    }
    clauses.push({ path: m[1]!.toLowerCase(), value: m[2]!.replace(/''/g, "'") });
    at = re.lastIndex;
  }
  return { clauses };
}

/**
 * Whether `fields` (lower-cased paths → values) satisfy every clause. A clause on a path the
 * resource does not have makes the filter unusable: undefined (400), as Graph refuses unknown
 * properties. GUIDs compare case-insensitively, other strings exactly.
 */
export function matchFilter(clauses: readonly FilterClause[], fields: ReadonlyMap<string, string>): boolean | undefined {
  for (const c of clauses) {
    const value = fields.get(c.path);
    if (value === undefined) return undefined;
    if (value !== c.value && value.toLowerCase() !== c.value.toLowerCase()) return false;
  }
  return true;
}

/** The navigation properties named in `$expand`, lower-cased (`a($expand=b),c` → a, b, c). */
export function parseExpand(text: string | null | undefined): Set<string> {
  const out = new Set<string>();
  if (!text) return out;
  for (const name of text.split(/[,()=;$\s]+/)) {
    const n = name.trim().toLowerCase();
    if (n && n !== "expand" && n !== "select") out.add(n);
  }
  return out;
}

/** Fields named in `$select` (as given), or undefined for all. */
export function parseSelect(text: string | null | undefined): string[] | undefined {
  if (!text) return undefined;
  const fields = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return fields.length ? fields : undefined;
}

/** `$top` within 1..max, the default when absent, or undefined when invalid. */
export function parseTop(text: string | null | undefined, fallback: number, max: number): number | undefined {
  if (text === null || text === undefined || text === "") return fallback;
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && n <= max ? n : undefined;
}

/** Keep only the selected fields of an object (and its `@odata.type`). */
export function applySelect(value: Record<string, unknown>, select: readonly string[] | undefined): Record<string, unknown> {
  if (!select) return value;
  const out: Record<string, unknown> = {};
  if ("@odata.type" in value) out["@odata.type"] = value["@odata.type"];
  for (const key of Object.keys(value)) if (select.some((s) => s.toLowerCase() === key.toLowerCase())) out[key] = value[key];
  return out;
}
