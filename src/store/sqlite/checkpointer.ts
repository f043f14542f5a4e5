import { closeSync, openSync, statSync } from "node:fs";
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
 * When to checkpoint: the worker reads, every `pollMs`, two counters of the WAL's shared index
 * (the `-shm` file, whose layout is part of SQLite's documented file format, walformat.html):
 * `mxFrame` (pages in the WAL, at byte 16) and `nBackfill` (how many of them are already copied
 * into the database file, at byte 96). It checkpoints once `targetPages` pages wait to be copied,
 * as SQLite's automatic checkpoint would: at Teams' ceiling (a few hundred pages a second) that is
 * one checkpoint every few seconds, not one per poll. A read of 100 bytes takes no lock and costs
 * microseconds: an idle store costs four of them a second (`idlePollMs`) and no checkpoint.
 *
 * The WAL starts over only when a write transaction begins with every page copied. Under steady
 * writes (a commit every few ms) a commit lands during nearly every checkpoint, so the WAL grows
 * although little waits to be copied; past `restartPages` the worker checkpoints whatever waits,
 * every `busyPollMs`, and these short checkpoints leave the gaps the WAL needs to start over
 * before the store connection's own backstop (`backstopPages`). Measured with a writer committing
 * every 5 ms at 8 and 15 pages a millisecond (test/store/sqlite-checkpointer.test.ts's pattern):
 * at 8 the WAL peaked at 5,928 pages with at most 1,989 waiting to be copied, at 15 at 10,049
 * (the backstop, whose checkpoint then had little left to copy) with at most 2,348; no commit took
 * 20 ms. If the worker fails, the store's connection goes back to SQLite's default.
 */
export interface Checkpointer {
  /** Stop the worker and close its connection (before the store's own closes, so that the last connection removes the WAL). */
  stop(): Promise<void>;
  /** After the store's connection is closed: let go of the `-shm` descriptor (see shmDescriptors). */
  release(): void;
}

/** Pages waiting to be copied that start a checkpoint: SQLite's default `wal_autocheckpoint`. */
export const targetPages = 1_000;
/** Pages in the WAL past which whatever waits is copied at every busy poll (16 MB at 4 KiB pages). */
const restartPages = 4_000;
/** The store connection's own automatic checkpoint while the worker runs (40 MB of WAL at 4 KiB pages). */
export const backstopPages = 10_000;
/** How often the worker reads the WAL's counters while it grows, in milliseconds: 1,500 pages at a fast broadcast's 15 a millisecond. */
const pollMs = 100;
/** The same while it does not grow: a broadcast that starts then has written at most 3,750 pages by the next read. */
const idlePollMs = 250;
/** The same while the WAL is longer than `restartPages`. */
const busyPollMs = 10;
/**
 * The store's connection truncates the WAL file to this size (bytes) when it starts it over: above
 * the backstop's 40 MB, so that only a spike (one very large transaction) is trimmed.
 */
const walSizeLimit = 48 * 1024 * 1024;

/**
 * The worker's code, run as a CommonJS script (`eval`): a module file would not exist under the
 * test runner, which runs the TypeScript sources. `driver` is better-sqlite3's resolved path. A
 * checkpoint that could not take its lock (another connection is checkpointing) answers
 * `log = -1`; a busy or locked error is tried again at the next poll. `shm` is a descriptor the
 * main thread opened on the `-shm` file (shmDescriptors): the worker reads it and never closes it.
 */
const workerSource = `
const { parentPort, workerData } = require("node:worker_threads");
const { readSync } = require("node:fs");
const Database = require(workerData.driver);
const { path, shm, targetPages, restartPages, pollMs, idlePollMs, busyPollMs } = workerData;
const db = new Database(path, { fileMustExist: true });
const checkpoint = db.prepare("pragma wal_checkpoint(PASSIVE)");
const header = Buffer.alloc(100);
const le = require("node:os").endianness() === "LE";
const transient = (code) => typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED") || code === "SQLITE_PROTOCOL");
let timer;
let lastFrames = -1;
const poll = () => {
  let frames = 0;
  try {
    // The index is in the machine's own byte order.
    frames = readSync(shm, header, 0, 100, 0) === 100 ? (le ? header.readUInt32LE(16) : header.readUInt32BE(16)) : 0;
    const waiting = frames - (le ? header.readUInt32LE(96) : header.readUInt32BE(96));
    if (waiting >= targetPages || (frames >= restartPages && waiting > 0)) checkpoint.get();
  } catch (e) {
    if (!transient(e && e.code)) {
      parentPort.postMessage({ failed: String((e && e.message) || e) });
      return;
    }
  }
  timer = setTimeout(poll, frames >= restartPages ? busyPollMs : frames === lastFrames ? idlePollMs : pollMs);
  lastFrames = frames;
};
timer = setTimeout(poll, pollMs);
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
  let shm: SharedDescriptor;
  try {
    shm = shmDescriptor(path);
  } catch (e) {
    warn(`it cannot read the WAL index: ${(e as Error).message}`);
    return { stop: async () => {}, release: () => {} };
  }
  try {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    // execArgv: none of the process's own flags. With --input-type=module (`node -e` of an ES
    // module) the script would be read as a module, without `require`; `--import` hooks and
    // profilers have nothing to do here.
    worker = new Worker(workerSource, {
      eval: true,
      execArgv: [],
      workerData: { driver, path, shm: shm.fd, targetPages, restartPages, pollMs, idlePollMs, busyPollMs },
    });
  } catch (e) {
    warn(`it could not start: ${(e as Error).message}`);
    return { stop: async () => {}, release: () => shm.release() };
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
      // Also after a failure: the terminating worker may still hold its connection. A worker stuck
      // in a checkpoint (a stalled disk) is terminated after stopWaitMs rather than hold the close.
      const late = setTimeout(() => void worker.terminate(), stopWaitMs);
      await exited;
      clearTimeout(late);
    },
    release: () => shm.release(),
  };
}

/** How long stop() waits for the worker to close its connection before terminating it, in milliseconds. */
const stopWaitMs = 5_000;

interface SharedDescriptor {
  readonly fd: number;
  release(): void;
}

/**
 * Descriptors on `-shm` files, one per file for the whole process, counted by the stores using it.
 * On POSIX, closing ANY descriptor of a file drops every lock the process holds on it: the locks
 * SQLite's connections hold on the `-shm` file (SQLite itself shares its descriptors within a
 * process for that reason). So a descriptor is closed only when the last store of this process on
 * the file has closed its connection; a connection of another library to the same file in the
 * same process, if any, would lose its locks then.
 */
const shmDescriptors = new Map<string, { fd: number; users: number }>();

function shmDescriptor(path: string): SharedDescriptor {
  // Opening the database made SQLite create the -shm file. Keyed by the file itself (device and
  // inode, read without opening it), so that two names of one file share one descriptor and a file
  // SQLite deleted and made anew gets its own.
  const { dev, ino } = statSync(`${path}-shm`);
  const file = `${dev}:${ino}`;
  let entry = shmDescriptors.get(file);
  if (!entry) {
    entry = { fd: openSync(`${path}-shm`, "r"), users: 0 };
    shmDescriptors.set(file, entry);
  }
  entry.users++;
  const taken = entry;
  let released = false;
  return {
    fd: taken.fd,
    release: () => {
      if (released) return;
      released = true;
      if (--taken.users > 0) return;
      shmDescriptors.delete(file);
      closeSync(taken.fd);
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
