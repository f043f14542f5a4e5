import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, expect, it } from "vitest";
import { backstopPages, startCheckpointer, targetPages } from "../../src/store/sqlite/checkpointer.js";
import { openSqliteStore } from "../../src/store/sqlite/open.js";

/**
 * A SQLite store's checkpoints run in a worker thread (checkpointer.ts), not in its commits.
 * What is seen from outside: pages the store committed reach the database file while the WAL is
 * below SQLite's automatic checkpoint (1,000 pages), without any further commit; closing the
 * store stops the worker and removes the WAL; a worker that cannot run leaves SQLite's default.
 */
const dir = mkdtempSync(join(tmpdir(), "herald-checkpointer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Poll until `check` holds, up to `ms`. */
async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

it("pages committed in small transactions reach the database file without another commit; close removes the WAL", async () => {
  const file = join(dir, "small.db");
  const store = await openSqliteStore(file);
  // The store's own connection, to write raw pages: the same file through a second handle would
  // be a second writer. Its WAL is checkpointed by the worker whoever writes.
  const writer = new Database(file);
  writer.pragma("busy_timeout = 5000");
  writer.exec("create table filler (id integer primary key, blob blob)");
  const before = statSync(file).size;
  const insert = writer.prepare("insert into filler (blob) values (randomblob(3500))");
  // 600 pages of 4 KiB in 6 commits: below the automatic checkpoint at 1,000 pages, so without the
  // worker nothing copies them into the file until a later commit passes 1,000.
  for (let t = 0; t < 6; t++) writer.transaction(() => Array.from({ length: 100 }, () => insert.run()))();
  writer.close();
  expect(await eventually(() => statSync(file).size >= before + 600 * 3500, 5_000)).toBe(true);
  expect(existsSync(`${file}-wal`)).toBe(true);
  await store.close();
  expect(existsSync(`${file}-wal`)).toBe(false);
});

it("a worker that cannot open the file: a warning, and the connection checkpoints by itself again", async () => {
  const file = join(dir, "alone.db");
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on("warning", onWarning);
  try {
    const checkpointer = startCheckpointer(join(dir, "missing", "nothing.db"), db);
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(backstopPages);
    expect(await eventually(() => warnings.some((w) => (w as { code?: string }).code === "HERALD_W_SQLITE_CHECKPOINTER"), 5_000)).toBe(
      true,
    );
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(targetPages);
    expect(warnings[0]?.message).toMatch(/checkpoint worker is not running/);
    await checkpointer.stop();
  } finally {
    process.off("warning", onWarning);
    db.close();
  }
});
