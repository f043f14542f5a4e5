#!/usr/bin/env node
// The top functions of a V8 CPU profile (`node --cpu-prof`), by self time, and the same grouped
// by package or Herald folder. E.g. profile Herald during a bench run, then read it:
//
//   BENCH_HERALD_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node bench/run.js --users 20000 --big 0 --trials 1 --skip-baseline
//   node bench/cpu-profile-top.js /tmp/prof/CPU.*.cpuprofile [how many, default 30]
//
// The profile samples the main thread's wall time while it is not idle: time blocked in a system
// call (or preempted on a busy machine) counts. For CPU alone use `perf record` with
// `--perf-basic-prof`, or the bench's CPU per message (from /proc).
import { readFileSync, statSync } from "node:fs";

// Node writes one profile per thread: Herald's main thread, and the SQLite checkpoint worker's
// (src/store/sqlite/checkpointer.ts). Given several files (e.g. the shell's /tmp/prof/*), this reads
// the largest, the main thread's.
const args = process.argv.slice(2);
const howMany = args.find((a) => /^\d+$/.test(a)) ?? "30";
const file = args.filter((a) => !/^\d+$/.test(a)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
if (!file) {
  process.stderr.write("usage: node bench/cpu-profile-top.js <file.cpuprofile>... [how many]\n");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8"));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const timeOf = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  timeOf.set(id, (timeOf.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const short = (url) => url.replace(/.*\/(dist|node_modules)\//, "$1/");
const group = (url, name) => {
  if (url.includes("node_modules/")) {
    const parts = url.split("node_modules/").pop().split("/");
    return `package ${parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  if (url.includes("/dist/")) return `herald ${url.split("/dist/").pop().split("/").slice(0, 2).join("/")}`;
  if (url.startsWith("node:")) return "node internals";
  return name;
};
const self = new Map();
const groups = new Map();
let busy = 0;
let idle = 0;
for (const [id, t] of timeOf) {
  const { functionName, url, lineNumber } = nodes.get(id).callFrame;
  if (functionName === "(idle)") {
    idle += t;
    continue;
  }
  busy += t;
  const key = `${functionName || "(anonymous)"} ${short(url)}:${lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + t);
  const g = group(url, functionName);
  groups.set(g, (groups.get(g) ?? 0) + t);
}
const print = (title, map, n) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, t] of [...map].sort((a, b) => b[1] - a[1]).slice(0, n))
    process.stdout.write(`${((100 * t) / busy).toFixed(1).padStart(5)} % ${(t / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
};
process.stdout.write(`busy ${(busy / 1e6).toFixed(2)} s, idle ${(idle / 1e6).toFixed(2)} s\n`);
print("self time by function", self, Number(howMany));
print("self time by package / folder", groups, 20);
