#!/usr/bin/env node
// `node bench/batch.js`: one broadcast sent both ways in one run, each to a fresh SQLite file of
// stored 1:1 chats, against `herald emulator` with Teams' limits ON (per-conversation windows and
// the per-tenant ceiling of 50 requests/s, which batch calls count against too), time-scaled so a
// run takes minutes, not hours:
//   - individual: one send per recipient (delivery.mode "individual", the default);
//   - batch: Teams' bulk API (delivery.mode "batch"), 1,000 recipients per operation, polled;
//   - individual-off (only when asked in --modes): the individual path on a Herald with
//     HERALD_BATCH=off, to see what the batch path's presence costs a notification that does not
//     use it (every other row runs with HERALD_BATCH=on).
//
//   npm run build && node bench/batch.js                           # 10,000 and 50,000 recipients
//   node bench/batch.js --recipients 10000 --time-scale 5
//
// Per row: wall time from the API call to `completed`, msg/s (sent copies over wall time), the
// same at Teams' real pace (÷ time scale), Herald's CPU seconds, requests Herald made to the
// Connector and 429s (emulator counters), and the ratio of wall time to the individual row of the
// same size. The organisation has Teams-like shares of users who blocked (2%) or uninstalled (1%)
// the bot: both paths must report them per recipient.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { cpuSecondsOf, startEmulatorProcess, startHeraldProcess } from "./delivery/procs.js";
import { seedPersonalChats } from "./delivery/seed.js";

const { values } = parseArgs({
  options: {
    recipients: { type: "string", default: "10000,50000" },
    "time-scale": { type: "string", default: "5" },
    "tenant-rps": { type: "string", default: "50" },
    "max-seconds": { type: "string", default: "400" },
    modes: { type: "string", default: "individual,batch" },
  },
});
const sizes = values.recipients.split(",").map(Number);
const timeScale = Number(values["time-scale"]);
const tenantRps = Number(values["tenant-rps"]);
const maxSeconds = Number(values["max-seconds"]);
const modes = values.modes.split(",");

const apiKey = "bench-batch-admin-key-0123456789abcdef";
const log = (s) => process.stderr.write(`${s}\n`);
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "n/a");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(url, method, path, body) {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const seed = 7;
const spec = { tenants: 1, users: Math.max(...sizes), blockedShare: 0.02, uninstalledShare: 0.01 };
const emu = await startEmulatorProcess({ seed, org: spec, limits: true, tenantRps, timeScale, messageCap: 1000 });

/** One row: `n` stored chats, one `{all: true}` broadcast on `mode`. */
async function row(n, mode) {
  const dir = mkdtempSync(join(tmpdir(), "herald-bench-batch-"));
  const path = join(dir, "herald.db");
  const org = await seedPersonalChats(path, { seed, spec, count: n, serviceUrl: emu.connectorUrl, appId: emu.appId });
  const tenantId = org.user(0).tenantId;
  const herald = await startHeraldProcess(
    {
      HERALD_PORT: "0",
      HERALD_HOST: "127.0.0.1",
      HERALD_DATABASE_URL: `sqlite:${path}`,
      HERALD_TENANT_RPS: String(tenantRps),
      HERALD_APP_ID: emu.appId,
      HERALD_APP_PASSWORD: "emulator-secret",
      HERALD_APP_TYPE: "MultiTenant",
      HERALD_TOKEN_ENDPOINT: emu.tokenUrl,
      HERALD_TRUSTED_HOSTS: "127.0.0.1",
      HERALD_INBOUND_AUTH: "off",
      HERALD_API_KEY: apiKey,
      HERALD_LOG_LEVEL: "warn",
      HERALD_BATCH: mode === "individual-off" ? "off" : "on",
    },
    { timeScale },
  );
  try {
    await fetch(`${emu.url}/_emulator/stats/reset`, { method: "POST" });
    const cpu0 = cpuSecondsOf(herald.pid);
    const t0 = performance.now();
    const { id } = await api(herald.url, "POST", "/v1/notifications", {
      audience: { all: true, tenantId },
      message: { text: "Bench: the office closes at 3 pm today." },
      delivery: { mode: mode === "individual-off" ? "individual" : mode },
    });
    let view;
    for (;;) {
      view = await api(herald.url, "GET", `/v1/notifications/${id}`);
      if (view.status === "completed" || performance.now() - t0 > maxSeconds * 1000) break;
      await sleep(50);
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSecondsOf(herald.pid) - cpu0;
    const stats = (await (await fetch(`${emu.url}/_emulator/stats`)).json()).global;
    return {
      n,
      mode,
      completed: view.status === "completed",
      counts: view.counts,
      seconds,
      rate: view.counts.sent / seconds,
      cpu,
      requests: stats.requests,
      throttled: stats.throttled,
      received: stats.sends,
      load: loadavg()[0],
    };
  } finally {
    await herald.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows = [];
try {
  for (const n of sizes)
    for (const mode of modes) {
      log(`[${fmt(n)} ${mode}] seeding and sending`);
      const r = await row(n, mode);
      rows.push(r);
      log(
        `[${fmt(n)} ${mode}] ${fmt(r.counts.sent)} sent in ${fmt(r.seconds, 1)} s, ${fmt(r.requests)} requests, ${fmt(r.throttled)} 429s`,
      );
    }
} finally {
  await emu.stop();
}

const cpuModel = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
const out = [];
out.push(
  `One {all: true} broadcast per row, one tenant; emulator with Teams' limits on (tenant ceiling ${tenantRps}/s, batch calls included), time scale ${timeScale}; 2% blocked, 1% uninstalled; SQLite; ${cpuModel}, Node ${process.version}`,
);
out.push("");
out.push(
  "| recipients | path | wall s | msg/s | msg/s ÷ time scale | × faster than individual | Herald CPU s | requests to Teams | 429s | sent / blocked / notFound |",
);
out.push("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|");
for (const r of rows) {
  const base = rows.find((b) => b.n === r.n && b.mode === "individual");
  out.push(
    `| ${fmt(r.n)} | ${r.mode}${r.completed ? "" : " (bound hit)"} | ${fmt(r.seconds, 1)} | ${fmt(r.rate)} | ${fmt(r.rate / timeScale)} | ${base ? fmt(base.seconds / r.seconds, 1) : "n/a"} | ${fmt(r.cpu, 1)} | ${fmt(r.requests)} | ${fmt(r.throttled)} | ${fmt(r.counts.sent)} / ${fmt(r.counts.blocked)} / ${fmt(r.counts.notFound)} |`,
  );
}
process.stdout.write(`${out.join("\n")}\n`);
