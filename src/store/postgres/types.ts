import pg from "pg";

/**
 * How the PostgreSQL store reads its own column types back (migration 018_postgres_types), so
 * the shared Kysely code sees the same values on both databases (../kysely/schema.ts):
 * - `timestamptz` → ISO 8601 UTC with milliseconds (`2025-01-31T09:00:00.000Z`), not a `Date`;
 * - `boolean` → 1 or 0;
 * - `jsonb` / `json` → the document's text (the store parses what it reads, as on SQLite).
 * Writing needs nothing: pg sends parameters untyped, and PostgreSQL reads an ISO string as a
 * `timestamptz`, `0`/`1` as a `boolean` and JSON text as `jsonb` where the column says so.
 * Installed per pool (`types`), never globally: other pg users in the process keep pg's defaults.
 */
export const postgresTypeParsers = {
  getTypeParser(oid: number, format?: "text" | "binary"): (value: string) => unknown {
    if (format === undefined || format === "text") {
      const own = textParsers.get(oid);
      if (own) return own;
    }
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
  },
};

const defaultTimestamptz = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ) as (value: string) => Date;

/**
 * A `timestamptz` as PostgreSQL writes it (`2025-01-31 09:00:00.123456+00` with DateStyle ISO)
 * to the store's ISO form. UTC sessions (the usual server setting) take the fast path, a plain
 * rewrite truncated to milliseconds; any other zone goes through pg's parser.
 */
export function timestamptzToIso(value: string): string {
  if (value.length >= 22 && value.endsWith("+00") && value[10] === " " && value[4] === "-") {
    const fraction = value[19] === "." ? value.slice(20, -3) : "";
    return `${value.slice(0, 10)}T${value.slice(11, 19)}.${(fraction + "000").slice(0, 3)}Z`;
  }
  const date: unknown = defaultTimestamptz(value);
  // pg answers null for a DateStyle it cannot read and ±Infinity for 'infinity': keep the text.
  return date instanceof Date && !Number.isNaN(date.getTime()) ? date.toISOString() : value;
}

const textParsers = new Map<number, (value: string) => unknown>([
  [pg.types.builtins.TIMESTAMPTZ, timestamptzToIso],
  [pg.types.builtins.BOOL, (value: string) => (value === "t" ? 1 : 0)],
  [pg.types.builtins.JSONB, (value: string) => value],
  [pg.types.builtins.JSON, (value: string) => value],
]);
