/**
 * Templates are listed by `(name_key, id)` compared byte by byte (the same on SQLite and
 * PostgreSQL whatever the database's collation), and paged by keyset on that pair. The cursor is
 * the last listed template's pair, versioned and base64url-encoded so callers treat it as opaque.
 * Shared by the store (which decodes it) and the API (which may end a page mid-way through a
 * store page and so makes the cursor of the last template it shows).
 */

/** The key templates sort by: the name in lower case. */
export const templateNameKey = (name: string): string => name.toLowerCase();

/** The cursor that continues after `t`. */
export function templateCursor(t: { name: string; id: string }): string {
  return Buffer.from(`tp1:${JSON.stringify([templateNameKey(t.name), t.id])}`, "utf8").toString("base64url");
}

/** The `(nameKey, id)` a cursor continues after; undefined when it is not one `templateCursor` made. */
export function decodeTemplateCursor(cursor: string): { nameKey: string; id: string } | undefined {
  if (cursor.length > 4_000 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  const s = Buffer.from(cursor, "base64url").toString("utf8");
  if (!s.startsWith("tp1:")) return undefined;
  try {
    const v: unknown = JSON.parse(s.slice(4));
    // A NUL (escaped in the JSON) is refused here: PostgreSQL cannot compare text holding one.
    const ok = (x: unknown): x is string => typeof x === "string" && !x.includes("\u0000");
    if (Array.isArray(v) && v.length === 2 && ok(v[0]) && ok(v[1]) && v[1] !== "") return { nameKey: v[0], id: v[1] };
  } catch {
    // not JSON: not ours
  }
  return undefined;
}
