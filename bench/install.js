#!/usr/bin/env node
// `node bench/install.js`: what proactive installation costs a broadcast (issue 15).
//
//   npm run build && node bench/install.js              # 2,000 users, Teams' and Graph's real limits
//   node bench/install.js --users 300                   # quicker
//   node bench/install.js --users 10000 --skip-baseline # the auto-install row alone
//
// Two rows, each on a fresh emulator (its own process, Teams' limits and Graph's install limit
// on) and a fresh Herald (`herald serve` as built, SQLite file, HERALD_AUTO_INSTALL=on):
// 1. baseline: `--users` people who all have the app (their install events reached Herald
//    beforehand, welcomes sent), broadcast `{all: true, tenantId}`;
// 2. auto-install: the same number of people who never installed it, broadcast
//    `{all: true, tenantId, includeUninstalled: true}`: each is read from the directory,
//    installed through Graph, welcomed, then messaged.
// Timed from the API call to `completed`. Prints installs/s, broadcast messages/s, the welcomes
// and messages Teams took, Graph's and Teams' 429s, the ceiling the limits allow (every message
// and welcome at HERALD_TENANT_RPS, the installs at Graph's 30/s per tenant, whichever takes
// longer) and the share of it reached (goal: at least 90 %), Herald's peak RSS (with its RSS at
// each tenth of the broadcast in the log: flat is the goal) and CPU-s, and the time as a ratio to
// the baseline row. `--timeline` logs installs and sends every second.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cpuSecondsOf, memoryOf, startEmulatorProcess, startHeraldProcess } from "./delivery/procs.js";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "2000" },
    "max-seconds": { type: "string", default: "600" },
    // Print, every second, the installs Graph took and the messages Teams took (where time goes).
    timeline: { type: "boolean", default: false },
    // Only the auto-install row (its ceiling needs no baseline; the last column then shows "-").
    "skip-baseline": { type: "boolean", default: false },
  },
});
const users = Number(values.users);
const maxSeconds = Number(values["max-seconds"]);
const apiKey = "bench-install-admin-key-0123456789abcdef";
const work = mkdtempSync(join(tmpdir(), "herald-bench-install-"));
const log = (s) => process.stderr.write(`${s}\n`);
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "n/a");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Teams' per-tenant rate (HERALD_TENANT_RPS) and the emulator's Graph install rate per tenant. */
const RPS = 50;
const INSTALL_RPS = 30;

async function call(url, method, body, key) {
  const res = await fetch(url, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${text}`);
  return json;
}

async function counters(emu) {
  const stats = await call(`${emu.url}/_emulator/stats`, "GET");
  const graph = (await call(`${emu.url}/_emulator/graph`, "GET")).counters;
  return { sends: stats.global.sends, throttled: stats.global.throttled, graphInstalls: graph.installs, graph429: graph.throttled };
}

/** One row: a fresh emulator and Herald; `installed` = everyone has the app before the broadcast. */
async function row(name, installed) {
  const spec = { tenants: 1, users, teams: 1, blockedShare: 0, uninstalledShare: installed ? 0 : 1 };
  const emu = await startEmulatorProcess({ seed: 15, org: spec, limits: true, messageCap: 100 });
  const file = join(work, `${name}.db`);
  let herald;
  try {
    herald = await startHeraldProcess({
      HERALD_DATABASE_URL: `sqlite:${file}`,
      HERALD_PORT: "0",
      HERALD_API_KEY: apiKey,
      HERALD_APP_ID: emu.appId,
      HERALD_APP_PASSWORD: "emulator-secret",
      HERALD_APP_TYPE: "MultiTenant",
      HERALD_TOKEN_ENDPOINT: emu.tokenUrl,
      HERALD_INBOUND_AUTH: "off",
      HERALD_TRUSTED_HOSTS: "127.0.0.1",
      HERALD_GRAPH_URL: emu.url,
      HERALD_AUTO_INSTALL: "on",
      HERALD_TENANT_RPS: String(RPS),
      HERALD_LOG_LEVEL: "warn",
    });
    await call(`${emu.url}/_emulator/bot`, "PUT", { endpoint: `${herald.url}/api/messages` });
    const tenantId = (await call(`${emu.url}/_emulator/tenants`, "GET")).tenants[0].id;
    if (installed) {
      log(`[${name}] ${fmt(users)} people install the app (Herald stores their chats and welcomes them)`);
      await call(`${emu.url}/_emulator/install`, "POST", { all: true });
      // Settled when every welcome went out (one send per person).
      while ((await counters(emu)).sends < users) await sleep(500);
    }
    const before = await counters(emu);
    log(`[${name}] broadcasting to ${fmt(users)} people${installed ? "" : " who never installed the app"}`);
    const started = Date.now();
    const cpuBefore = cpuSecondsOf(herald.pid);
    const rssAt = []; // RSS (MB) as each tenth of the broadcast is sent
    const audience = installed ? { all: true, tenantId } : { all: true, tenantId, includeUninstalled: true };
    const { id } = await call(`${herald.url}/v1/notifications`, "POST", { audience, message: { text: "Benchmark ${givenName}" } }, apiKey);
    let n;
    let lastLog = Date.now();
    for (;;) {
      n = await call(`${herald.url}/v1/notifications/${id}`, "GET", undefined, apiKey);
      while (rssAt.length < 10 && (n.counts.sent ?? 0) >= ((rssAt.length + 1) * users) / 10) rssAt.push(memoryOf(herald.pid).rssMb);
      if (n.status === "completed") break;
      if ((Date.now() - started) / 1000 > maxSeconds) break;
      if (values.timeline && Date.now() - lastLog > 1_000) {
        lastLog = Date.now();
        const c = await counters(emu);
        log(
          `[${name}] t=${fmt((Date.now() - started) / 1000, 1)} s: installs ${fmt(c.graphInstalls - before.graphInstalls)}, Teams sends ${fmt(c.sends - before.sends)}, broadcast sent ${fmt(n.counts.sent)}`,
        );
      } else if (!values.timeline && Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`[${name}] ${fmt(n.counts.sent)} / ${fmt(n.total)} sent`);
      }
      await sleep(200);
    }
    const seconds = (Date.now() - started) / 1000;
    const cpu = cpuSecondsOf(herald.pid) - cpuBefore;
    const { peakMb } = memoryOf(herald.pid);
    const after = await counters(emu);
    const installs = after.graphInstalls - before.graphInstalls;
    log(`[${name}] ${n.status}: ${fmt(n.counts.sent)} sent in ${fmt(seconds, 1)} s, ${fmt(installs)} installs`);
    log(`[${name}] Herald RSS at each tenth sent: ${rssAt.map((m) => fmt(m)).join(" ")} MB; peak ${fmt(peakMb)} MB; ${fmt(cpu, 1)} CPU-s`);
    // What Teams' and Graph's limits allow: every message (and, installing, every welcome) at
    // HERALD_TENANT_RPS, and the installs at Graph's per-tenant rate, whichever is longer.
    const ceiling = installed ? users / RPS : Math.max((2 * users) / RPS, users / INSTALL_RPS);
    return {
      name,
      completed: n.status === "completed",
      seconds,
      ceiling,
      peakMb,
      rssAt,
      cpu,
      sent: n.counts.sent ?? 0,
      failed: (n.counts.failed ?? 0) + (n.counts.notFound ?? 0),
      installs,
      teamsSends: after.sends - before.sends,
      teams429: after.throttled - before.throttled,
      graph429: after.graph429 - before.graph429,
    };
  } finally {
    await herald?.stop();
    await emu.stop();
  }
}

let results;
try {
  results = [
    ...(values["skip-baseline"] ? [] : [await row("baseline: all installed", true)]),
    await row("auto-install: none installed", false),
  ];
} finally {
  rmSync(work, { recursive: true, force: true });
}
const base = values["skip-baseline"] ? undefined : results[0].seconds;
const head = [
  "row",
  "sent",
  "failed",
  "seconds",
  "msg/s",
  "installs",
  "installs/s",
  "Teams sends",
  "Teams 429s",
  "Graph 429s",
  "ceiling s",
  "share of ceiling",
  "peak RSS",
  "CPU-s",
  "time vs baseline",
];
const lines = results.map((r) => [
  r.completed ? r.name : `${r.name} (stopped at --max-seconds)`,
  fmt(r.sent),
  fmt(r.failed),
  fmt(r.seconds, 1),
  fmt(r.sent / r.seconds, 1),
  fmt(r.installs),
  r.installs > 0 ? fmt(r.installs / r.seconds, 1) : "-",
  fmt(r.teamsSends),
  fmt(r.teams429),
  fmt(r.graph429),
  fmt(r.ceiling, 1),
  `${fmt((100 * r.ceiling) / r.seconds)} %`,
  `${fmt(r.peakMb)} MB`,
  fmt(r.cpu, 1),
  base === undefined ? "-" : `${fmt(r.seconds / base, 2)}×`,
]);
const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(" ");
process.stdout.write(
  `\n${users.toLocaleString("en-US")} users, 1 tenant, Teams' and Graph's limits on (emulator), HERALD_TENANT_RPS=${RPS}, Graph installs ${INSTALL_RPS}/s per tenant; ceiling = max(messages and welcomes / ${RPS}, installs / ${INSTALL_RPS}); load average at the end ${load}\n\n`,
);
process.stdout.write(`| ${head.join(" | ")} |\n|${head.map(() => "---").join("|")}|\n`);
for (const l of lines) process.stdout.write(`| ${l.join(" | ")} |\n`);
