#!/usr/bin/env node
// Sends per second of Herald's Teams emulator next to the M365 Agents Playground's mock
// Connector, measured in the same run with the same load generator (bench/emulator/load.mjs).
//
//   node bench/emulator/run.mjs [--requests 100000] [--concurrency 64] [--runs 3] [--users 100000] [--no-pin] [--client raw|undici]
//
// Each server runs in its own process; with 2+ CPUs and `taskset` the server is pinned to
// CPU 1 and this process (the generator) to CPU 0. Limits and auth are off on Herald's side
// (the Playground has neither). Medians of `--runs` rounds are printed as a table.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { runLoad } from "./load.mjs";
import { cpuSeconds, startHerald, startPlayground } from "./targets.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "100000" },
    concurrency: { type: "string", default: "64" },
    runs: { type: "string", default: "3" },
    users: { type: "string", default: "100000" },
    warmup: { type: "string", default: "5000" },
    "no-pin": { type: "boolean", default: false },
    client: { type: "string", default: "raw" },
  },
});
const requests = Number(values.requests);
const concurrency = Number(values.concurrency);
const runs = Number(values.runs);
const users = Number(values.users);
const warmup = Number(values.warmup);
const client = values.client;
if (client !== "raw" && client !== "undici") throw new Error(`--client must be raw or undici (got ${client})`);

const cpus = availableParallelism();
function canPin() {
  if (values["no-pin"] || cpus < 2) return false;
  try {
    execFileSync("taskset", ["-cp", "0", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const pinned = canPin();
const serverCpu = pinned ? 1 : undefined;

// Bundle the emulator from source (no build step needed); packages stay external and resolve
// from the project's node_modules, so the bundle lives inside the project while the bench runs.
const dir = join(root, "bench/emulator/.build", String(process.pid));
mkdirSync(dir, { recursive: true });
const bundle = join(dir, "emulator.mjs");
await build({
  entryPoints: [join(root, "src/emulator/index.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  outfile: bundle,
  logLevel: "error",
});
const bundleUrl = pathToFileURL(bundle).href;
const { GeneratedOrg } = await import(bundleUrl);

const body = Buffer.from(
  JSON.stringify({
    type: "message",
    text: "Hello from the benchmark: **quarterly all-hands** on Thursday at 10:00 in the main hall.",
    textFormat: "markdown",
    channelData: { notification: { alert: true } },
  }),
);
const playgroundConversation = "bench-conv";

// Paths: one conversation (user 0's 1:1 chat), or one 1:1 chat per user (a broadcast), precomputed.
// The org is the one herald-server.mjs starts (same seed and flags), so the ids match.
const org = new GeneratedOrg(1, { users, teams: 2, chats: 1, blockedShare: 0, uninstalledShare: 0 });
const broadcastPaths = Array.from(
  { length: users },
  (_, k) => `/v3/conversations/${encodeURIComponent(org.personalConversationId(k))}/activities`,
);

const scenarios = [
  {
    label: "Herald emulator",
    shape: "1 conversation",
    start: () => startHerald({ bundle: bundleUrl, users, cpu: serverCpu }),
    pathOf: (t) => {
      const p = t.prefix + broadcastPaths[0];
      return () => p;
    },
  },
  {
    label: "Herald emulator",
    shape: `${users.toLocaleString("en-US")} 1:1 chats`,
    start: () => startHerald({ bundle: bundleUrl, users, cpu: serverCpu }),
    pathOf: (t) => (k) => t.prefix + broadcastPaths[k % broadcastPaths.length],
  },
  {
    label: "M365 Agents Playground",
    shape: "1 conversation",
    start: () => startPlayground({ cpu: serverCpu, conversationId: playgroundConversation }),
    pathOf: (t) => {
      const p = `${t.prefix}/v3/conversations/${playgroundConversation}/activities`;
      return () => p;
    },
  },
];

const results = scenarios.map(() => []);
process.stderr.write(
  `Teams emulator bench: ${requests.toLocaleString("en-US")} sends per run (+${warmup} warm-up), ${concurrency} in flight, ${runs} runs, ` +
    `server ${pinned ? "pinned to CPU 1, generator to CPU 0" : "not pinned"}, ${client} client, node ${process.version}\n`,
);
try {
  for (let run = 1; run <= runs; run++) {
    for (let i = 0; i < scenarios.length; i++) {
      const s = scenarios[i];
      const target = await s.start();
      try {
        const r = await runLoad({
          origin: target.origin,
          pathOf: s.pathOf(target),
          body,
          total: requests,
          warmup,
          concurrency,
          client,
          // The server's own CPU time over the measured part: its cost per send does not
          // depend on what else the machine runs, unlike sends/s.
          onMeasure: () => cpuSeconds(target.pid),
        });
        r.cpuPerSend = r.measured[0] === undefined ? Number.NaN : (r.measured[1] - r.measured[0]) / requests;
        results[i].push(r);
        process.stderr.write(
          `  run ${run} ${s.label} (${s.shape}): ${Math.round(r.sendsPerSecond).toLocaleString("en-US")} sends/s, ` +
            `p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, server CPU ${(r.cpuPerSend * 1e6).toFixed(1)} µs/send, ` +
            `statuses ${JSON.stringify(r.statuses)}\n`,
        );
      } finally {
        await target.stop();
      }
    }
  }
} finally {
  rmSync(join(root, "bench/emulator/.build"), { recursive: true, force: true });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const rows = scenarios.map((s, i) => ({
  target: s.label,
  shape: s.shape,
  rate: median(results[i].map((r) => r.sendsPerSecond)),
  p50: median(results[i].map((r) => r.p50)),
  p99: median(results[i].map((r) => r.p99)),
  failures: results[i].reduce((n, r) => n + r.failures, 0),
  cpu: median(results[i].map((r) => r.cpuPerSend)),
}));
const playground = rows.find((r) => r.target === "M365 Agents Playground")?.rate ?? Number.NaN;
const table = [
  [
    "target",
    "conversations",
    "sends/s (median)",
    "p50 ms",
    "p99 ms",
    "failed",
    "× Playground",
    "server CPU µs/send",
    "sends per CPU-second",
  ],
  ...rows.map((r) => [
    r.target,
    r.shape,
    Math.round(r.rate).toLocaleString("en-US"),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    String(r.failures),
    (r.rate / playground).toFixed(1),
    Number.isFinite(r.cpu) ? (r.cpu * 1e6).toFixed(1) : "n/a",
    Number.isFinite(r.cpu) ? Math.round(1 / r.cpu).toLocaleString("en-US") : "n/a",
  ]),
];
const widths = table[0].map((_, c) => Math.max(...table.map((row) => row[c].length)));
const line = (row) => `| ${row.map((cell, c) => (c >= 2 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join(" | ")} |`;
console.log(
  `\nPOST /v3/conversations/{id}/activities, ${requests.toLocaleString("en-US")} sends × ${runs} runs, ${concurrency} in flight, ` +
    `${client === "raw" ? "raw node:net client" : "undici Pool"}, keep-alive, loopback, ${cpus} CPUs${pinned ? " (server and generator pinned apart)" : ""}`,
);
console.log(line(table[0]));
console.log(`|${widths.map((w, c) => (c >= 2 ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`);
for (const row of table.slice(1)) console.log(line(row));
const herald = rows.filter((r) => r.target === "Herald emulator");
const worst = Math.min(...herald.map((r) => r.rate));
const heraldFailed = herald.some((r) => r.failures > 0);
console.log(
  `\nGoal (issue 3): at least 10,000 sends/s for the emulator: ${worst >= 10_000 && !heraldFailed ? "met" : "NOT met"} (lowest median ${Math.round(worst).toLocaleString("en-US")}${heraldFailed ? ", with failed sends" : ""}).`,
);
// A target that failed requests (refused connections answer fast) has no meaningful rate.
for (const r of rows.filter((row) => row.failures > 0))
  console.log(`Warning: ${r.target} (${r.shape}) failed ${r.failures} requests; its sends/s are not a measure of its Connector.`);
