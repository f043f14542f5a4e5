import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import type Database from "better-sqlite3";

/**
 * Checkpoints of a SQLite file in WAL mode, run by a worker thread on a connection of its own
 * instead of inside the commits of the store's connection.
 *
 * SQLite's automatic checkpoint runs in the commit that takes the WAL past 1,000 pages: that
 * commit copies the WAL's pages into the database file and, with `synchronous = NORMAL`, syncs
 * both files to disk, on the event loop. Timed around better-sqlite3 during a 50,000-recipient
 * broadcast: about 140 of 1,800 commits took 2-40 ms, together 1.1-1.4 s of the 9-13 s; with
 * `synchronous = OFF` (no syncs; only to measure) the same commits took 0.2 s. A PASSIVE
 * checkpoint from another connection does the same work without blocking the writer or its
 * readers (SQLite's documented concurrency), so the event loop only writes the WAL.
 *
 * The worker aims at about `targetPages` pages per checkpoint, as the automatic one: it waits
 * between checkpoints in proportion to how fast the WAL grew since the last one, from 10 ms up to
 * `maxWaitMs`. That ceiling is short enough that a broadcast starting after a quiet spell (about
 * 15 pages a millisecond on this project's machine) has written a few thousand pages, not the
 * store connection's own backstop of `backstopPages`, before the first checkpoint; an idle store
 * costs four cheap calls a second (nothing to copy: no sync). If the worker fails, the store's
 * connection goes back to SQLite's default.
 */
export interface Checkpointer {
  /** Stop the worker and close its connection (before the store's own closes, so that the last connection removes the WAL). */
  stop(): Promise<void>;
}

/** Pages per checkpoint the worker aims at: SQLite's default `wal_autocheckpoint`. */
export const targetPages = 1_000;
/** The store connection's own automatic checkpoint while the worker runs (40 MB of WAL at 4 KiB pages). */
export const backstopPages = 10_000;
/** The longest wait between two checkpoints, in milliseconds. */
export const maxWaitMs = 250;
/**
 * The store's connection truncates the WAL file to this size (bytes) when it starts it over: above
 * the backstop's 40 MB, so that only a spike (one very large transaction) is trimmed.
 */
export const walSizeLimit = 48 * 1024 * 1024;

/**
 * The worker's code, run as a CommonJS script (`eval`): a module file would not exist under the
 * test runner, which runs the TypeScript sources. `driver` is better-sqlite3's resolved path.
 *
 * How much the WAL grew since the last tick: `data_version` changes when another connection
 * committed; unchanged, nothing grew (`log`, the WAL's frames, stays as it was until a writer
 * starts the WAL over). After a complete checkpoint, every frame counts as new: the WAL starts
 * over when a write transaction begins with every frame copied. If it did not (a commit landed
 * during the checkpoint, as under steady writes it mostly does), the overcount shortens the
 * wait: checkpoints then follow each other closely (10 ms), each short, which gives the WAL the
 * gaps it needs to start over before the backstop. Measured with a writer committing every 5 ms
 * (test/store/sqlite-checkpointer.test.ts's pattern): at 8 pages/ms the WAL peaked at 4,742 pages
 * and 2,470 not yet copied, at 15 pages/ms at 9,060 and 4,851, and no commit took 20 ms; counting
 * only the frames past the last count instead, both runs reached the 10,000-page backstop and
 * commits of 40-90 ms. Otherwise the frames past the last count are growth. A checkpoint that
 * could not take its lock answers `log = -1` (another connection is checkpointing): try again soon.
 */
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const { path, targetPages, minWaitMs, maxWaitMs } = workerData;
const db = new Database(path, { fileMustExist: true });
const checkpoint = db.prepare("pragma wal_checkpoint(PASSIVE)");
const dataVersion = db.prepare("pragma data_version").pluck();
const transient = (code) => typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED") || code === "SQLITE_PROTOCOL");
let wait = maxWaitMs;
let lastLog = 0;
let lastVersion;
let lastComplete = true;
let timer;
const tick = () => {
  try {
    const version = dataVersion.get();
    const { busy, log, checkpointed } = checkpoint.get();
    if (log < 0) {
      wait = minWaitMs;
    } else {
      const grown = version === lastVersion ? 0 : lastComplete ? log : Math.max(0, log - lastLog);
      lastVersion = version;
      lastLog = log;
      lastComplete = busy === 0 && checkpointed === log;
      wait = log - checkpointed >= targetPages ? minWaitMs
        : grown > 0 ? Math.min(maxWaitMs, Math.max(minWaitMs, Math.round((wait * targetPages) / grown)))
        : maxWaitMs;
    }
  } catch (e) {
    if (!transient(e && e.code)) {
      parentPort.postMessage({ failed: String((e && e.message) || e) });
      return;
    }
    wait = minWaitMs;
  }
  timer = setTimeout(tick, wait);
};
timer = setTimeout(tick, wait);
parentPort.on("message", (m) => {
  if (m !== "stop") return;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
`;

/**
 * Start the worker for the file at `path`, whose connection `database` is the store's. If no
 * worker can start, a warning says so and the store's commits keep checkpointing as SQLite does.
 */
export function startCheckpointer(path: string, database: Database.Database): Checkpointer {
  let worker: Worker;
  try {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    // execArgv: none of the process's own flags. With --input-type=module (`node -e` of an ES
    // module) the script would be read as a module, without `require`; `--import` hooks and
    // profilers have nothing to do here.
    worker = new Worker(workerSource, {
      eval: true,
      execArgv: [],
      workerData: { driver, path, targetPages, minWaitMs: 10, maxWaitMs },
    });
  } catch (e) {
    warn(`it could not start: ${(e as Error).message}`);
    return { stop: async () => {} };
  }
  database.pragma(`wal_autocheckpoint = ${backstopPages}`);
  database.pragma(`journal_size_limit = ${walSizeLimit}`);
  let running = true;
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  const fallBack = (why: string): void => {
    if (!running) return;
    running = false;
    if (database.open) database.pragma(`wal_autocheckpoint = ${targetPages}`);
    warn(`it stopped: ${why}`);
    void worker.terminate();
  };
  worker.on("message", (m: { failed?: string }) => fallBack(m.failed ?? "unknown message"));
  worker.on("error", (e) => fallBack(e.message));
  worker.on("exit", (code) => fallBack(`exit code ${code}`));
  // After the listeners: a "message" listener references the worker's port again. Unreferenced, a
  // process with nothing else to do exits even if its store was never closed.
  worker.unref();
  return {
    stop: async () => {
      if (running) {
        running = false;
        // Referenced while it exits: a caller awaiting the close (then exiting with its own code)
        // must not see the process end first.
        worker.ref();
        worker.postMessage("stop");
      }
      // Also after a failure: the terminating worker may still hold its connection.
      await exited;
    },
  };
}

function warn(why: string): void {
  process.emitWarning(
    `SQLite checkpoints run in the store's commits, as SQLite does by default: the checkpoint worker is not running (${why}).`,
    {
      code: "HERALD_W_SQLITE_CHECKPOINTER",
    },
  );
}
