import Database from "better-sqlite3";
import type { SqliteStatement } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withStatementCache } from "../../src/store/sqlite/statement-cache.js";

/**
 * The statement cache's readers answer rows through a generated object literal (row-shape.ts).
 * Every row must be the object better-sqlite3 itself builds for the same statement: same keys in
 * the same order, same values and types, plain prototype. Each case runs the same text through
 * the cache and through a plain better-sqlite3 statement of a second connection to the same
 * in-memory data, and compares the two whole.
 */
let raw: Database.Database;
let cached: ReturnType<typeof withStatementCache>;

beforeAll(() => {
  raw = new Database(":memory:");
  cached = withStatementCache(raw);
  const wide = Array.from({ length: 25 }, (_, i) => `c${i}`);
  raw.exec(`create table wide (id integer primary key, ${wide.map((c, i) => `${c} ${i % 3 === 0 ? "integer" : "text"}`).join(", ")})`);
  const insert = raw.prepare(`insert into wide values (${["?", ...wide.map(() => "?")].join(", ")})`);
  for (let r = 0; r < 30; r++)
    insert.run([r, ...wide.map((_, i) => (r % 4 === i % 4 ? null : i % 3 === 0 ? r * 1000 + i : `r${r}-c${i}-é ✓`))]);
  raw.exec("create table other (id integer primary key, wide_id integer, note text, weight real, data blob)");
  raw.prepare("insert into other values (?, ?, ?, ?, ?)").run([1, 2, "two", 2.5, Buffer.from([0, 1, 255])]);
  raw.prepare("insert into other values (?, ?, ?, ?, ?)").run([2, 3, null, -0.125, null]);
});
afterAll(() => cached?.close());

/** The rows the cache's statement answers (twice: the second from the kept statement) and better-sqlite3's own. */
function both(sql: string, params: unknown[] = []): { mine: unknown[]; again: unknown[]; theirs: unknown[]; stmt: SqliteStatement } {
  const stmt = cached.prepare(sql);
  const mine = stmt.all(params);
  const again = cached.prepare(sql).all(params);
  const theirs = raw.prepare(sql).all(params);
  return { mine, again, theirs, stmt };
}

/** The wrapper, not better-sqlite3's Statement (whose `all` is on its prototype). */
const isWrapped = (stmt: SqliteStatement): boolean => Object.hasOwn(stmt, "all");

function expectSame(rows: unknown[], theirs: unknown[]): void {
  expect(rows).toStrictEqual(theirs);
  expect(rows.length).toBe(theirs.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Record<string, unknown>;
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.keys(row)).toEqual(Object.keys(theirs[i] as object));
    expect(Object.values(row)).toEqual(Object.values(theirs[i] as object));
  }
}

describe("rows of kept reader statements", () => {
  it("a 26-column select *, with nulls, integers and text, is the same rows", () => {
    const { mine, again, theirs, stmt } = both("select * from wide order by id");
    expect(isWrapped(stmt)).toBe(true);
    expect(theirs).toHaveLength(30);
    expectSame(mine, theirs);
    expectSame(again, theirs);
  });

  it("bound parameters, a join, reals and blobs, and a column name repeated (the last wins, in its first place)", () => {
    const sql =
      "select w.id, o.id, o.note, w.c1, o.weight, o.data, w.c0 as note from other o join wide w on w.id = o.wide_id where o.id >= ? order by o.id";
    const { mine, theirs, stmt } = both(sql, [1]);
    expect(isWrapped(stmt)).toBe(true);
    expect(theirs).toHaveLength(2);
    expect(Object.keys(theirs[0] as object)).toEqual(["id", "note", "c1", "weight", "data"]);
    expectSame(mine, theirs);
  });

  it("a RETURNING statement is a reader too: its rows, and the row it wrote", () => {
    const sql = "insert into other (id, wide_id, note, weight, data) values (?, ?, ?, ?, ?) returning *";
    const stmt = cached.prepare(sql);
    expect(isWrapped(stmt)).toBe(true);
    const mine = stmt.all([10, 1, "ten", 1.5, null]);
    const theirs = raw.prepare(sql).all([11, 1, "ten", 1.5, null]);
    expect(mine).toStrictEqual([{ id: 10, wide_id: 1, note: "ten", weight: 1.5, data: null }]);
    expectSame(mine, [{ ...(theirs[0] as object), id: 10 }]);
    expect(raw.prepare("select count(*) as n from other where id in (10, 11)").get()).toEqual({ n: 2 });
  });

  it("no rows, and iterate", () => {
    expectSame(both("select * from wide where id < 0").mine, []);
    const stmt = cached.prepare("select id, c1, c2 from wide where id < ? order by id");
    expect([...stmt.iterate([3])]).toStrictEqual(raw.prepare("select id, c1, c2 from wide where id < ? order by id").all([3]));
  });

  it("column names are data, never code: quotes, a closing brace and a call stay names", () => {
    const sql = `select 1 as "a""b", 2 as "}); globalThis.pwned = 1; ({", 3 as "\\", 4 as "line
break", 5 as "" , 6 as "0", 7 as "constructor"`;
    const { mine, theirs, stmt } = both(sql);
    expect(isWrapped(stmt)).toBe(true);
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined();
    expectSame(mine, theirs);
  });

  it("a column named __proto__ is assigned as better-sqlite3 assigns it (a literal would read it as the prototype)", () => {
    const { mine, theirs, stmt } = both(`select 1 as "__proto__", 2 as "x"`);
    expect(isWrapped(stmt)).toBe(true);
    expectSame(mine, theirs);
  });

  it("a kept select * after a column is added or dropped behind the cache's back (SQLite re-prepares it): the new columns", () => {
    raw.exec("create table shifting (a integer, b text, c text)");
    raw.prepare("insert into shifting values (1, 'B', 'C')").run();
    const sql = "select * from shifting";
    expect(cached.prepare(sql).all([])).toStrictEqual([{ a: 1, b: "B", c: "C" }]);
    raw.exec("alter table shifting drop column b");
    expectSame(cached.prepare(sql).all([]), raw.prepare(sql).all([]));
    raw.exec("alter table shifting add column d text default 'D'");
    raw.exec("alter table shifting add column e integer default 5");
    expect(cached.prepare(sql).all([])).toStrictEqual([{ a: 1, c: "C", d: "D", e: 5 }]);
    expect([...cached.prepare(sql).iterate([])]).toStrictEqual([{ a: 1, c: "C", d: "D", e: 5 }]);
  });

  it("DDL through the cache drops the kept statements: a renamed column comes back under its new name", () => {
    raw.exec("create table renamed (a integer, b text)");
    raw.prepare("insert into renamed values (1, 'B')").run();
    const sql = "select * from renamed";
    expect(cached.prepare(sql).all([])).toStrictEqual([{ a: 1, b: "B" }]);
    cached.prepare("alter table renamed rename column b to see").run([]);
    expect(cached.prepare(sql).all([])).toStrictEqual([{ a: 1, see: "B" }]);
  });

  it("a statement that is not a reader runs as before", () => {
    const stmt = cached.prepare("update other set note = ? where id = ?");
    expect(stmt.reader).toBe(false);
    expect(stmt.run(["changed", 2])).toEqual({ changes: 1, lastInsertRowid: expect.anything() });
    expect(raw.prepare("select note from other where id = 2").get()).toEqual({ note: "changed" });
  });
});
