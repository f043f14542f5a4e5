import { isMainThread, parentPort, resourceLimits, Worker } from "node:worker_threads";

/**
 * `herald serve` and `herald worker` run in a worker thread whose V8 young generation may grow to
 * HERALD_YOUNG_GENERATION_MB (default 96: two 32 MB semi-spaces; Node 20's own cap on 64-bit is
 * 48). A broadcast allocates about 35 KB per message, mostly objects that live for one request
 * (the row, the activity, the request, the answer). In Node's default young generation a
 * scavenge came every ~45 ms at 7,000 messages a second, while requests were in flight, and a
 * quarter of what was allocated was copied and promoted before it died. With 96 MB a 50,000
 * recipient broadcast on SQLite used 6-19 % less CPU per message (median 15 %; PostgreSQL 6-10 %)
 * for about 30 MB more memory (README, Benchmarks).
 *
 * Node reads this size when V8 starts: set later from inside the process it changes nothing
 * (measured), and Node 20 cannot re-exec itself with a flag. A worker thread gets its own V8
 * heap with its own limits (`resourceLimits`), in the same process: same pid, so a SIGKILL
 * still ends everything at once. The main thread only starts the worker and forwards to it the
 * signals it gets (a worker receives none of its own); the command's stdout and stderr pass
 * through, its exit code becomes the process's.
 *
 * Not hosted (the command runs in the main thread as before) when HERALD_YOUNG_GENERATION_MB is
 * 0, or the operator sized V8's young generation already (`--max-semi-space-size` on the
 * command line or in NODE_OPTIONS). V8 makes the young generation three semi-spaces of a power
 * of two MB and rounds other sizes up: 48 (Node's default), 96, 192. What attaches to the main
 * thread (`--inspect`, SIGUSR1, `--heapsnapshot-signal`) sees the host, not Herald: run with
 * HERALD_YOUNG_GENERATION_MB=0 for those.
 */
export const defaultYoungGenerationMb = 96;

const hostedCommands = new Set(["serve", "worker"]);
const signals = ["SIGTERM", "SIGINT"] as const;
type ForwardedSignal = (typeof signals)[number];
const isForwarded = (value: unknown): value is ForwardedSignal => signals.includes(value as ForwardedSignal);
/** After a forwarded signal the command exits within its own bound (signals.ts, 15 s); past this, the host ends the process. */
const HOST_EXIT_BOUND_MS = 20_000;

/**
 * The young generation to host `args` (the arguments after `herald`) with, in MB; undefined when
 * the command is to run in the main thread. Throws a RangeError naming the variable for a value
 * that is not a whole number from 0 to 4096.
 */
export function youngGenerationFor(args: readonly string[], env: NodeJS.ProcessEnv, execArgv: readonly string[]): number | undefined {
  if (!hostedCommands.has(args[0] ?? "") || args.includes("--help") || args.includes("-h")) return undefined;
  const raw = env.HERALD_YOUNG_GENERATION_MB?.trim();
  const mb = raw === undefined || raw === "" ? defaultYoungGenerationMb : /^\d{1,4}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(mb >= 0 && mb <= 4096))
    throw new RangeError(
      `HERALD_YOUNG_GENERATION_MB must be a whole number of MB from 0 to 4096 (got "${raw}"); 0 runs Herald without a worker thread, in Node's default young generation.`,
    );
  if (mb === 0) return undefined;
  const sized = [...execArgv, ...(env.NODE_OPTIONS ?? "").split(/\s+/)].some((a) => /^--max[-_]semi[-_]space[-_]size/.test(a));
  return sized ? undefined : mb;
}

/**
 * Start the CLI whose main module is `main` (the package's bin calls this): hosted in a worker
 * thread for `serve` and `worker` (youngGenerationFor), else imported here as before.
 */
export async function startCli(main: URL): Promise<void> {
  const args = process.argv.slice(2);
  let youngMb: number | undefined;
  try {
    youngMb = youngGenerationFor(args, process.env, process.execArgv);
  } catch (e) {
    process.stderr.write(`herald ${args[0]}: ${(e as Error).message}\n`);
    process.exit(2); // exitCodes.usage (options.ts, not imported: it would load commander here)
  }
  if (youngMb === undefined) await import(main.href);
  else hostInWorker(main, args, youngMb);
}

/**
 * Run `entry` (the CLI's main module) with `args` in a worker thread with a young generation of
 * `youngMb`; this thread then only forwards SIGTERM and SIGINT to it and exits with its code.
 */
export function hostInWorker(entry: URL, args: readonly string[], youngMb: number): void {
  const worker = new Worker(entry, { argv: [...args], resourceLimits: { maxYoungGenerationSizeMb: youngMb } });
  // The thread's output is written by this one. A reader gone (EPIPE) must not end the process
  // here (the command's logger ignored it when it wrote stderr itself), nor stop the flow: the
  // pipe stops on the error, and the thread's lines would pile up in its memory for good. They
  // are dropped from then on, as the logger's own writes to a closed stderr were.
  process.stdout.on("error", () => worker.stdout.resume());
  process.stderr.on("error", () => worker.stderr.resume());
  const forward = (signal: ForwardedSignal) => {
    worker.postMessage({ signal });
    // The command bounds its own shutdown (signals.ts, 15 s); this bounds a thread whose event loop no longer turns.
    setTimeout(() => process.exit(1), HOST_EXIT_BOUND_MS).unref();
  };
  for (const signal of signals) process.on(signal, forward);
  worker.on("message", (m: unknown) => {
    // The command listens for no signal yet: the signal's default action, as without a host.
    const signal = (m as { reraise?: unknown } | null)?.reraise;
    if (!isForwarded(signal)) return;
    process.off(signal, forward);
    process.kill(process.pid, signal);
  });
  let failed = false;
  worker.on("error", (e: unknown) => {
    failed = true;
    if ((e as { code?: unknown } | null | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY") {
      // As V8 ends a process out of memory without a host: a fatal error and SIGABRT (exit 134).
      process.stderr.write("herald: FATAL ERROR: JavaScript heap out of memory (the worker thread's V8 heap limit)\n");
      process.abort();
    }
    process.stderr.write(`herald: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  });
  // exitCode rather than exit(): the thread's last lines may still be on their way to this one,
  // and to a slow reader (process.exit would drop them).
  worker.on("exit", (code) => {
    process.exitCode = failed && code === 0 ? 1 : code;
    // Nothing left to forward to: a signal while the last lines drain ends the process as usual.
    for (const signal of signals) process.off(signal, forward);
  });
}

/**
 * In the hosted worker: a signal the host forwards reaches the command's own listeners
 * (signals.ts) as if the process had received it. When the command listens for none yet (still
 * starting), the host ends the process with the signal's default action, as without a host.
 */
export function receiveForwardedSignals(): void {
  const port = parentPort;
  if (isMainThread || port === null) return;
  port.on("message", (m: unknown) => {
    const signal = (m as { signal?: unknown } | null)?.signal;
    if (!isForwarded(signal)) return;
    if (process.listenerCount(signal) === 0) port.postMessage({ reraise: signal });
    else (process.emit as (event: ForwardedSignal, signal: ForwardedSignal) => boolean)(signal, signal);
  });
  // Only the command's own work keeps the thread alive.
  port.unref();
}

/** The young generation this thread was given, in MB, when hosted (for the start-up log line); undefined in the main thread. */
export function hostedYoungGenerationMb(): number | undefined {
  return isMainThread ? undefined : resourceLimits.maxYoungGenerationSizeMb;
}
