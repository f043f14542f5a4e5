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
 * between checkpoints in proportion to how fast the WAL grew since the last one (10 ms to 1 s),
 * so an idle store costs one cheap call a second (nothing to copy: no sync). The store's
 * connection keeps an automatic checkpoint at `backstopPages` in case the worker falls behind,
 * and goes back to SQLite's default if the worker fails.
 */
export interface Checkpointer {
  /** Stop the worker and close its connection (before the store's own closes, so that the last connection removes the WAL). */
  stop(): Promise<void>;
}

/** Pages per checkpoint the worker aims at: SQLite's default `wal_autocheckpoint`. */
export const targetPages = 1_000;
/** The store connection's own automatic checkpoint while the worker runs (40 MB of WAL at 4 KiB pages). */
export const backstopPages = 10_000;

/**
 * The worker's code, run as a CommonJS script (`eval`): a module file would not exist under the
 * test runner, which runs the TypeScript sources. `driver` is better-sqlite3's resolved path.
 */
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const { path, targetPages, minWaitMs, maxWaitMs } = workerData;
const db = new Database(path, { fileMustExist: true });
const checkpoint = db.prepare("pragma wal_checkpoint(PASSIVE)");
let wait = maxWaitMs;
let lastLog = 0;
let timer;
const tick = () => {
  let grown = 0;
  try {
    const { log } = checkpoint.get();
    // The WAL starts over after a complete checkpoint, at the next write: a smaller log is all new.
    grown = log >= lastLog ? log - lastLog : log;
    lastLog = log;
  } catch (e) {
    // Another connection checkpointing at the same moment (the store's backstop, a backup tool):
    // its work is done either way; try again later.
    if (!(e && (e.code === "SQLITE_BUSY" || e.code === "SQLITE_LOCKED"))) {
      parentPort.postMessage({ failed: String((e && e.message) || e) });
      return;
    }
  }
  wait = Math.min(maxWaitMs, Math.max(minWaitMs, grown > 0 ? Math.round((wait * targetPages) / grown) : maxWaitMs));
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
    worker = new Worker(workerSource, { eval: true, workerData: { driver, path, targetPages, minWaitMs: 10, maxWaitMs: 1_000 } });
  } catch (e) {
    warn(`it could not start: ${(e as Error).message}`);
    return { stop: async () => {} };
  }
  // A process with nothing else to do exits: the store's close stops the worker when it is called.
  worker.unref();
  database.pragma(`wal_autocheckpoint = ${backstopPages}`);
  let running = true;
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
  const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  return {
    stop: async () => {
      if (!running) return;
      running = false;
      // Unreferenced, the worker would not keep the process alive until it has exited: a caller
      // awaiting the close (then exiting with its own code) would see the process end first.
      worker.ref();
      worker.postMessage("stop");
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
