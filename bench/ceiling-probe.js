#!/usr/bin/env node
// Where Herald's CPU goes at Teams' ceiling (issue 14): one Herald process (as bench/run.js starts
// it: SQLite or PostgreSQL, HERALD_TENANT_RPS=50, the emulator's limits on, 3 tenants), measured
// from /proc first IDLE (started, nothing to send: polls, heartbeats, timers), then during a
// broadcast waiting at the ceiling (after a warm-up), per thread: the event loop's thread apart
// from V8's worker threads (JIT compilation, concurrent GC).
//
//   npm run build && node bench/ceiling-probe.js [--db sqlite|postgres] [--idle 20] [--warm 12] [--seconds 30] [--poll-ms 1000]
//
// --poll-ms: how often the probe reads the notification's status during the window, as bench/run.js
// does (each read is Herald's work too); 0 = not at all. PERF=<file> records `perf record -g` of
// Herald during the window (start Herald with BENCH_HERALD_NODE_ARGS=--perf-basic-prof for JS names).
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { activityOf, startEmulatorProcess, startHeraldProcess } from "./delivery/procs.js";
import { dropPostgresDatabase, seedPersonalChats, seedPostgresChats } from "./delivery/seed.js";

const { values } = parseArgs({
  options: {
    db: { type: "string", default: "sqlite" },
    "pg-url": { type: "string", default: process.env.BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres" },
    idle: { type: "string", default: "20" },
    warm: { type: "string", default: "12" },
    seconds: { type: "string", default: "30" },
    "poll-ms": { type: "string", default: "1000" },
  },
});
const idleS = Number(values.idle);
const warmS = Number(values.warm);
const windowS = Number(values.seconds);
const pollMs = Number(values["poll-ms"]);
const apiKey = "bench-admin-key-0123456789abcdef";
const tenants = 3;
const rps = 50;
// Enough recipients that the broadcast is still at the ceiling when the window ends.
const tenantUsers = rps * (warmS + windowS + 15);
const seed = 2;
const spec = { tenants, users: tenants * tenantUsers, teams: tenants, chats: 0, blockedShare: 0, uninstalledShare: 0 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

/** CPU (user, system, s) and voluntary context switches of each thread of `pid`. */
function threads(pid) {
  const out = {};
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const status = readFileSync(`/proc/${pid}/task/${t}/status`, "utf8");
      out[t] = {
        user: Number(f[11]) / 100,
        system: Number(f[12]) / 100,
        wakeups: Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(status)?.[1] ?? 0),
      };
    } catch {}
  }
  return out;
}

function report(label, pid, [a, ta], [b, tb], seconds, messages) {
  const cpu = b.user + b.system - a.user - a.system;
  const perS = (x) => ((x / seconds) * 1000).toFixed(1);
  let line = `${label}: ${seconds.toFixed(1)} s, Herald ${perS(cpu)} ms CPU per second (user ${perS(b.user - a.user)}, system ${perS(b.system - a.system)}), event-loop wake-ups ${((b.mainWakeups - a.mainWakeups) / seconds).toFixed(1)}/s, write syscalls ${((b.syscw - a.syscw) / seconds).toFixed(1)}/s`;
  if (messages)
    line += `; ${messages} messages (${(messages / seconds).toFixed(1)}/s): ${((cpu * 1e6) / messages).toFixed(0)} µs per message, ${((b.mainWakeups - a.mainWakeups) / messages).toFixed(2)} wake-ups and ${((b.syscw - a.syscw) / messages).toFixed(2)} write syscalls per message`;
  process.stdout.write(`${line}; load ${load()}\n`);
  let workers = 0;
  for (const [t, y] of Object.entries(tb)) {
    const x = ta[t] ?? { user: 0, system: 0 };
    if (t !== String(pid)) workers += y.user + y.system - x.user - x.system;
  }
  const main = tb[pid];
  const main0 = ta[pid];
  process.stdout.write(
    `  event-loop thread ${perS(main.user + main.system - main0.user - main0.system)} ms/s, other threads (V8 JIT and GC, libuv) ${perS(workers)} ms/s\n`,
  );
}

const emu = await startEmulatorProcess({ seed, org: spec, limits: true, tenantRps: rps, timeScale: 1, auth: false, messageCap: 1000 });
const work = mkdtempSync(join(tmpdir(), "herald-ceiling-probe-"));
const pgName = `herald_probe_${process.pid}`;
let herald;
try {
  const count = tenants * tenantUsers;
  let databaseUrl = `sqlite:${join(work, "h.db")}`;
  if (values.db === "postgres")
    databaseUrl = await seedPostgresChats(values["pg-url"], pgName, { seed, spec, count, serviceUrl: emu.connectorUrl, appId: emu.appId });
  else await seedPersonalChats(join(work, "h.db"), { seed, spec, count, serviceUrl: emu.connectorUrl, appId: emu.appId });
  herald = await startHeraldProcess(
    {
      HERALD_DATABASE_URL: databaseUrl,
      HERALD_PORT: "0",
      HERALD_API_KEY: apiKey,
      HERALD_APP_ID: emu.appId,
      HERALD_APP_PASSWORD: "",
      HERALD_INBOUND_AUTH: "off",
      HERALD_TRUSTED_HOSTS: "127.0.0.1",
      HERALD_TENANT_RPS: String(rps),
      HERALD_LOG_LEVEL: "warn",
    },
    { timeScale: 1 },
  );
  const api = async (method, path, body) => {
    const res = await fetch(herald.url + path, {
      method,
      headers: { authorization: `Bearer ${apiKey}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return res.json();
  };
  const pid = herald.pid;
  const sample = () => [activityOf(pid), threads(pid)];
  await sleep(3000);
  let s0 = sample();
  await sleep(idleS * 1000);
  report("idle", pid, s0, sample(), idleS);
  const { id } = await api("POST", "/v1/notifications", {
    audience: { all: true },
    message: { text: "Hello ${givenName}, this is a benchmark." },
  });
  await sleep(warmS * 1000);
  const n0 = await api("GET", `/v1/notifications/${id}`);
  s0 = sample();
  const perf = process.env.PERF
    ? spawn("perf", ["record", "-F", "1999", "-g", "-p", String(pid), "-o", process.env.PERF, "--", "sleep", String(windowS)], {
        stdio: "ignore",
      })
    : undefined;
  const t0 = Date.now();
  while (Date.now() - t0 < windowS * 1000) {
    await sleep(pollMs > 0 ? Math.min(pollMs, t0 + windowS * 1000 - Date.now()) : t0 + windowS * 1000 - Date.now());
    if (pollMs > 0) await api("GET", `/v1/notifications/${id}`);
  }
  const s1 = sample();
  const seconds = (Date.now() - t0) / 1000;
  const n1 = await api("GET", `/v1/notifications/${id}`);
  report(`at the ceiling (status read every ${pollMs || "∞"} ms)`, pid, s0, s1, seconds, n1.counts.sent - n0.counts.sent);
  if (n1.status === "completed") process.stdout.write("warning: the broadcast completed inside the window\n");
  if (perf) await new Promise((r) => perf.once("exit", r));
} finally {
  await herald?.stop();
  await emu.stop();
  rmSync(work, { recursive: true, force: true });
  if (values.db === "postgres") await dropPostgresDatabase(values["pg-url"], pgName).catch(() => {});
}
