import type Database from "better-sqlite3";
import type { SqliteStatement } from "kysely";

/**
 * A reader statement whose rows come back as the same objects better-sqlite3 would build, built
 * faster: the statement answers arrays (`raw` mode) and one object literal per column list turns
 * each array into an object.
 *
 * better-sqlite3 gives each row object its columns one at a time; such an object is in V8's
 * dictionary mode from 20 columns on, so every later read of a field is a hash lookup. A claimed
 * delivery row has 20 columns and an audience row 25. Measured on this project's machine (200
 * rows, 1,500 rounds): 20 columns 4.9-5.4 µs per row as better-sqlite3's objects, 2.4-2.7 through
 * the literal; 2 columns 0.60 → 0.45; 32 columns 7.2-7.9 → 3.6-4.8. A literal's objects are in
 * fast mode at any width. Assigning the columns in a loop instead is as slow as better-sqlite3
 * from 20 columns on (dictionary mode again), hence the generated literal.
 *
 * The objects are the same: the same keys in the same order, the same values, the plain
 * prototype; with a repeated column name the last one wins, as in better-sqlite3. A statement
 * SQLite re-prepared with another number of columns (a column added or dropped) gets a new
 * builder; the statement cache drops every kept statement when its connection runs DDL. A column
 * renamed by ANOTHER connection while a `select *` is kept is the one case left: its rows keep the
 * old name until the statement leaves the cache (Herald's own statements name their columns and
 * would fail on such a schema anyway).
 */
export function withObjectRows(stmt: Database.Statement): SqliteStatement {
  let names = stmt.columns().map((c) => c.name);
  let builder = builderFor(names);
  /** The builder for rows of `width` values: SQLite re-prepares a kept statement after a schema change, with other columns. */
  const shaped = (width: number): RowBuilder => {
    if (width !== names.length) {
      names = stmt.columns().map((c) => c.name);
      builder = builderFor(names);
    }
    return builder;
  };
  stmt.raw(true);
  return {
    reader: true,
    all(parameters) {
      const rows = stmt.all(parameters) as unknown[][];
      if (rows.length === 0) return rows;
      const build = shaped((rows[0] as unknown[]).length);
      for (let i = 0; i < rows.length; i++) (rows as unknown[])[i] = build(rows[i] as unknown[]);
      return rows;
    },
    // A RETURNING statement is a reader, and Kysely's driver still runs it with `all`; `run`
    // ignores raw mode.
    run: (parameters) => stmt.run(parameters),
    *iterate(parameters) {
      for (const row of stmt.iterate(parameters) as IterableIterator<unknown[]>) yield shaped(row.length)(row);
    },
  };
}

type RowBuilder = (values: readonly unknown[]) => Record<string, unknown>;

/** Builders by column list: the statement cache prepares the same few shapes again and again. */
const builders = new Map<string, RowBuilder>();
/** Column lists kept; past this a new one is built each time (a statement's text is its own shape). */
const MAX_BUILDERS = 512;

/**
 * `(v) => ({"c0": v[0], "c1": v[1], …})` for these columns. The names are written as JSON string
 * literals, so any name is data, never code. A column named `__proto__` (which a literal reads as
 * the prototype, and better-sqlite3 assigns as one), or a process that forbids code from strings
 * (`--disallow-code-generation-from-strings`), gets `assigned` instead: better-sqlite3's own way,
 * and its speed.
 */
function builderFor(columns: readonly string[]): RowBuilder {
  const key = JSON.stringify(columns);
  let builder = builders.get(key);
  if (builder === undefined) {
    builder = columns.includes("__proto__") ? assigned(columns) : (literal(columns) ?? assigned(columns));
    if (builders.size < MAX_BUILDERS) builders.set(key, builder);
  }
  return builder;
}

function literal(columns: readonly string[]): RowBuilder | undefined {
  try {
    return new Function("v", `return {${columns.map((c, i) => `${JSON.stringify(c)}: v[${i}]`).join(", ")}};`) as RowBuilder;
  } catch {
    return undefined;
  }
}

/** One column after the other, as better-sqlite3 does (its objects are in dictionary mode from 20 columns on). */
function assigned(columns: readonly string[]): RowBuilder {
  return (values) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) row[columns[i] as string] = values[i];
    return row;
  };
}
