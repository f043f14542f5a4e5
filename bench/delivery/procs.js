// Child processes of the benchmark, and what /proc says about them.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

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
