import { execFile } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");

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
  // A second connection writes the pages (the store's own is not reachable from here), with no
  // automatic checkpoint of its own: only the worker copies them into the file.
  const writer = new Database(file);
  writer.pragma("busy_timeout = 5000");
  writer.pragma("wal_autocheckpoint = 0");
  writer.exec("create table filler (id integer primary key, blob blob)");
  const before = statSync(file).size;
  const insert = writer.prepare("insert into filler (blob) values (randomblob(3500))");
  // 1,200 pages of 4 KiB in 12 commits: past the 1,000 pages that start a checkpoint.
  for (let t = 0; t < 12; t++) writer.transaction(() => Array.from({ length: 100 }, () => insert.run()))();
  writer.close();
  expect(await eventually(() => statSync(file).size >= before + 1_200 * 3500, 5_000)).toBe(true);
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
    // A WAL index without its database: the worker's connection cannot open the file.
    writeFileSync(join(dir, "ghost.db-shm"), "");
    const checkpointer = startCheckpointer(join(dir, "ghost.db"), db);
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(backstopPages);
    expect(await eventually(() => warnings.some((w) => (w as { code?: string }).code === "HERALD_W_SQLITE_CHECKPOINTER"), 5_000)).toBe(
      true,
    );
    expect(db.pragma("wal_autocheckpoint", { simple: true })).toBe(targetPages);
    expect(warnings[0]?.message).toMatch(/checkpoint worker is not running/);
    await checkpointer.stop();
    checkpointer.release();
  } finally {
    process.off("warning", onWarning);
    db.close();
  }
});

it("a steady stream of commits on a connection with only the backstop: the worker keeps what is left to copy near its target", async () => {
  // 8 pages a millisecond (about half a fast broadcast on this project's machine) for 2.5 s,
  // committed every 5 ms. What the WAL holds beyond what was copied into the file is read from
  // the wal-index header (SQLite's documented format, walformat.html: mxFrame at byte 16,
  // nBackfill at 96 of the -shm file). A worker that falls behind (the first version waited up to
  // a second after a WAL restart it misread as no growth) lets it reach thousands of pages, up to
  // the 10,000-page backstop, where a commit checkpoints on the event loop.
  const file = join(dir, "steady.db");
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec("create table filler (id integer primary key, blob blob)");
  const checkpointer = startCheckpointer(file, db);
  const insert = db.prepare("insert into filler (blob) values (randomblob(3900))");
  const write = db.transaction((n: number) => {
    for (let i = 0; i < n; i++) insert.run();
  });
  const shm = openSync(`${file}-shm`, "r");
  const header = Buffer.alloc(100);
  let behind = 0;
  let written = 0;
  const started = Date.now();
  while (Date.now() - started < 2_500) {
    // At most 400 pages a commit: a test process stalled on a loaded machine must not write in
    // one commit more than the worker is allowed to fall behind.
    const due = Math.min(400, Math.floor((Date.now() - started) * 8) - written);
    if (due > 0) {
      write(due);
      written += due;
    }
    readSync(shm, header, 0, 100, 0);
    behind = Math.max(behind, header.readUInt32LE(16) - header.readUInt32LE(96));
    await new Promise((r) => setTimeout(r, 5));
  }
  closeSync(shm);
  await checkpointer.stop();
  db.close();
  checkpointer.release();
  expect(written).toBeGreaterThan(5_000);
  expect(behind).toBeLessThan(5 * targetPages);
});

it("a process that leaves a file store open still exits by itself, and its worker ran (even in an ES module given to node -e)", async () => {
  // The worker is unreferenced: it must not keep a process alive that forgot close() (a script,
  // a library user's test). `--input-type=module` must not reach the worker's CommonJS script.
  // dist/ is what `npm ci` builds.
  const file = join(dir, "left-open.db");
  const code = `import { openSqliteStore } from ${JSON.stringify(join(root, "dist/store/sqlite/open.js"))};
    const store = await openSqliteStore(${JSON.stringify(file)});
    await store.conversations.get("a:nobody");
    await new Promise((r) => setTimeout(r, 3000));
    console.log("opened");`;
  const result = await new Promise<{ code: number | null; stdout: string; stderr: string; signal: NodeJS.Signals | null }>((done) => {
    const child = execFile(process.execPath, ["--input-type=module", "-e", code], { timeout: 20_000 }, (_error, stdout, stderr) =>
      done({ code: child.exitCode, stdout, stderr, signal: child.signalCode }),
    );
  });
  expect(result.stdout).toContain("opened");
  expect(result.stderr).not.toContain("HERALD_W_SQLITE_CHECKPOINTER");
  expect(result.signal).toBeNull();
  expect(result.code).toBe(0);
});

it("stopping the worker keeps the store connection's locks: another process still cannot write during its transaction", async () => {
  // On POSIX, closing any descriptor of a file drops all the process's locks on it: a worker that
  // closed its own descriptor on the -shm file let another process write beside a transaction.
  const file = join(dir, "locks.db");
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec("create table t (x text)");
  const checkpointer = startCheckpointer(file, db);
  await new Promise((r) => setTimeout(r, 300));
  const otherProcessWrites = () =>
    new Promise<string>((done) => {
      const code = `const Database = require(${JSON.stringify(join(root, "node_modules/better-sqlite3"))});
        const c = new Database(${JSON.stringify(file)}, { timeout: 200 });
        try { c.exec("begin immediate"); c.exec("insert into t values ('other')"); c.exec("commit"); console.log("wrote"); }
        catch (e) { console.log(e.code); }`;
      execFile(process.execPath, ["-e", code], { timeout: 20_000 }, (_e, stdout) => done(stdout.trim()));
    });
  db.exec("begin immediate");
  db.prepare("insert into t values ('store')").run();
  expect(await otherProcessWrites()).toBe("SQLITE_BUSY");
  await checkpointer.stop();
  expect(await otherProcessWrites()).toBe("SQLITE_BUSY");
  db.exec("commit");
  db.close();
  checkpointer.release();
  const fresh = new Database(file);
  expect(fresh.prepare("select x from t").pluck().all()).toEqual(["store"]);
  fresh.close();
});
