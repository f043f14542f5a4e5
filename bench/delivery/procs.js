// Child processes of the benchmark, and what /proc says about them.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * Start `node <script> ...args`, resolve with what `ready(stdout)` finds (undefined = keep
 * waiting) plus `pid` and `stop()`. Fails after `timeoutMs` or when the child exits first.
 */
export function startChild(script, args, env, ready, timeoutMs = 120_000, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
    if (err.length > 100_000) err = err.slice(-50_000);
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not start within ${timeoutMs} ms:\n${err.slice(-2000)}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited with ${code} before it was ready:\n${err.slice(-2000)}`));
    });
    child.stdout.on("data", (d) => {
      out += d;
      const found = ready(out);
      if (found === undefined) return;
      clearTimeout(timer);
      resolve({
        ...found,
        pid: child.pid,
        stderr: () => err,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          const t = setTimeout(() => child.kill("SIGKILL"), 15_000);
          await exited;
          clearTimeout(t);
        },
      });
    });
  });
}

/** `VmHWM` (peak resident set) and `VmRSS` of a process, in MB, from /proc/<pid>/status. */
export function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { peakMb: kb("VmHWM") / 1024, rssMb: kb("VmRSS") / 1024 };
}

/** CPU seconds (user + system, all threads) a process has used, from /proc/<pid>/stat (ticks of 1/100 s). */
export function cpuSecondsOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * What a process did, from /proc: CPU seconds split into user and system time, context switches
 * (voluntary: each is a wake-up of a thread that waited, e.g. the event loop's epoll_wait; the
 * count is over all threads; `mainWakeups` the event loop's thread alone) and write-like system calls (`syscw`: socket and file writes).
 */
export function activityOf(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  let voluntary = 0;
  let involuntary = 0;
  let mainWakeups = 0;
  let tasks = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {}
  for (const t of tasks) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${t}/status`, "utf8");
      voluntary += Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
      involuntary += Number(/^nonvoluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
      if (t === String(pid)) mainWakeups = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(st)?.[1] ?? 0);
    } catch {}
  }
  let syscw = Number.NaN;
  try {
    syscw = Number(/^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1] ?? Number.NaN);
  } catch {}
  return { user: Number(fields[11]) / 100, system: Number(fields[12]) / 100, voluntary, involuntary, mainWakeups, syscw };
}

/** The emulator in its own process. */
export function startEmulatorProcess(options) {
  // BENCH_EMULATOR_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the emulator process only.
  const nodeArgs = process.env.BENCH_EMULATOR_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  return startChild(
    new URL("./emulator-child.js", import.meta.url).pathname,
    [JSON.stringify(options)],
    {},
    (out) => {
      const m = /READY (\{.*\})/.exec(out);
      return m ? JSON.parse(m[1]) : undefined;
    },
    120_000,
    nodeArgs,
  );
}

/** A Herald server in its own process. */
export function startHeraldProcess(env, delivery = {}) {
  // BENCH_HERALD_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) profiles the Herald process only.
  const nodeArgs = process.env.BENCH_HERALD_NODE_ARGS?.split(" ").filter(Boolean) ?? [];
  return startChild(
    new URL("./herald-child.js", import.meta.url).pathname,
    [],
    { ...env, BENCH_DELIVERY: JSON.stringify(delivery) },
    (out) => {
      const m = /READY (\S+)/.exec(out);
      return m ? { url: m[1] } : undefined;
    },
    120_000,
    nodeArgs,
  );
}
