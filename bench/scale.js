#!/usr/bin/env node
// `node bench/scale.js`: Herald on 1, 2 and 3 processes (`herald serve`, then + 1 and + 2
// `herald worker`) on one PostgreSQL database and one Redis, against `herald emulator` answering
// every Connector request after a Teams-like delay (`--answer-ms`, default 80 ms) with its rate
// limits off (HERALD_TENANT_RPS=0): each process keeps at most 64 requests in flight, so one
// process is bound near 64 / 0.080 s = 800 msg/s by waiting, not by CPU, and more processes
// should add throughput until the CPU (2 cores here, shared with the emulator and PostgreSQL) runs out.
//
//   npm run build && node bench/scale.js                 # 10,000 messages per row, 10 tenants
//   node bench/scale.js --messages 5000 --answer-ms 80
//
// Each row: a fresh PostgreSQL schema holding `--messages` stored 1:1 chats over `--tenants`
// tenants, the processes started, one broadcast (`{all: true}`) posted to `herald serve`, timed
// from the API call to `completed`; bounded by `--max-seconds` (default 60: a row that runs out
// is reported as such). Prints a table with the ratio to the 1-process row of the same run, the
// CPU of the Herald processes and of the PostgreSQL backends serving them (per message), and the
// database rows written per message (pg_stat_user_tables of the row's schema).
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import pg from "pg";
import { cpuSecondsOf, startChild, startEmulatorProcess } from "./delivery/procs.js";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "10000" },
    tenants: { type: "string", default: "10" },
    "answer-ms": { type: "string", default: "80" },
    "max-seconds": { type: "string", default: "60" },
    processes: { type: "string", default: "1,2,3" },
    database: { type: "string", default: process.env.HERALD_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test" },
    redis: { type: "string", default: "redis://127.0.0.1:6379" },
  },
});
const messages = Number(values.messages);
const tenants = Number(values.tenants);
const answerMs = Number(values["answer-ms"]);
const maxSeconds = Number(values["max-seconds"]);
const counts = values.processes.split(",").map(Number);
const pgUrl = values.database;

const bin = new URL("../bin/herald.js", import.meta.url).pathname;
if (!existsSync(new URL("../dist/cli/main.js", import.meta.url))) {
  process.stderr.write("bench/scale.js: dist/ is missing; run `npm run build` first.\n");
  process.exit(2);
}
const { GeneratedOrg } = await import("../dist/emulator/index.js");
const { openStore } = await import("../dist/store/open.js");

const apiKey = "bench-scale-admin-key-0123456789abcdef";
const log = (s) => process.stderr.write(`${s}\n`);
const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "n/a");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function withPg(fn) {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

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

/** Store the 1:1 chats of users [0, messages) in `schema` (migrated first), 5,000 per statement. */
async function seed(schema, org, emu) {
  const store = await openStore(pgUrl, { schema });
  await store.close();
  const now = new Date().toISOString();
  await withPg(async (c) => {
    for (let i = 0; i < messages; i += 5000) {
      const cols = [[], [], [], [], []];
      for (let u = i; u < Math.min(messages, i + 5000); u++) {
        const user = org.user(u);
        cols[0].push(org.personalConversationId(u));
        cols[1].push(user.tenantId);
        cols[2].push(user.id);
        cols[3].push(user.name);
        cols[4].push(user.aadObjectId ?? null);
      }
      await c.query(
        `insert into "${schema}".conversations (id, kind, tenant_id, service_url, channel_id, bot_id, user_id, user_name, user_aad_object_id,
           last_activity_at, status, archived, created_at, updated_at)
         select c.id, 'personal', c.tenant_id, $6, 'msteams', $7, c.user_id, c.user_name, c.aad, $8::timestamptz, 'active', false, $8::timestamptz, $8::timestamptz
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as c(id, tenant_id, user_id, user_name, aad)`,
        [...cols, emu.connectorUrl, `28:${emu.appId}`, now],
      );
    }
  });
}

/** Rows inserted, updated and deleted in `schema` so far (statistics lag by up to ~0.5 s: read after a pause). */
async function rowWrites(schema) {
  return withPg(async (c) => {
    const r = await c.query(
      "select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::bigint as n from pg_stat_user_tables where schemaname = $1",
      [schema],
    );
    return Number(r.rows[0].n);
  });
}

/** CPU seconds of the PostgreSQL backends of `app` (application_name), as last seen per backend. */
function backendTracker(app) {
  const seen = new Map(); // pid → { first, last }
  const read = (pid) => {
    try {
      return cpuSecondsOf(pid);
    } catch {
      return undefined; // the backend ended (pool connection closed): keep its last reading
    }
  };
  return {
    async sample() {
      const pids = await withPg(async (c) => (await c.query("select pid from pg_stat_activity where application_name = $1", [app])).rows);
      for (const { pid } of pids) {
        const cpu = read(pid);
        if (cpu === undefined) continue;
        const e = seen.get(pid);
        if (e) e.last = cpu;
        else seen.set(pid, { first: cpu, last: cpu });
      }
    },
    /** Start afresh: current readings become the baseline. */
    reset() {
      for (const e of seen.values()) e.first = e.last;
    },
    total() {
      let s = 0;
      for (const e of seen.values()) s += e.last - e.first;
      return s;
    },
  };
}

async function sentBy(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^herald_deliveries_total\{outcome="sent"\} (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

/** One row: `n` processes, one broadcast to every stored chat. */
async function row(n, emu, org) {
  const schema = `herald_bench_scale_${randomBytes(4).toString("hex")}`;
  const app = schema;
  log(`[${n} process${n > 1 ? "es" : ""}] seeding ${fmt(messages)} conversations in ${schema}`);
  await seed(schema, org, emu);
  const env = {
    HERALD_PORT: "0",
    HERALD_HOST: "127.0.0.1",
    HERALD_DATABASE_URL: `${pgUrl}?application_name=${app}&options=${encodeURIComponent(`-c search_path=${schema}`)}`,
    HERALD_REDIS_URL: values.redis,
    HERALD_TENANT_RPS: "0",
    HERALD_APP_ID: emu.appId,
    HERALD_APP_PASSWORD: "emulator-secret",
    HERALD_APP_TYPE: "MultiTenant",
    HERALD_TOKEN_ENDPOINT: emu.tokenUrl,
    HERALD_TRUSTED_HOSTS: "127.0.0.1",
    HERALD_INBOUND_AUTH: "off",
    HERALD_API_KEY: apiKey,
    HERALD_LOG_LEVEL: "warn",
  };
  const start = (kind) =>
    startChild(bin, [kind], env, (out) => {
      const m = kind === "serve" ? /Herald listening on (http:\/\/\S+) / : /health and metrics on (http:\/\/\S+?)\)/;
      const found = m.exec(out);
      return found ? { url: found[1], kind } : undefined;
    });
  const procs = await Promise.all([start("serve"), ...Array.from({ length: n - 1 }, () => start("worker"))]);
  const pgCpu = backendTracker(app);
  try {
    await fetch(`${emu.url}/_emulator/stats/reset`, { method: "POST" });
    await sleep(700); // let the statistics collector catch up before the baseline
    const writes0 = await rowWrites(schema);
    await pgCpu.sample();
    pgCpu.reset();
    const cpu0 = procs.map((p) => cpuSecondsOf(p.pid));
    const sent0 = await Promise.all(procs.map((p) => sentBy(p.url)));
    const t0 = performance.now();
    const { id } = await api(procs[0].url, "POST", "/v1/notifications", {
      audience: { all: true },
      message: { text: "Scale ${givenName}" },
    });
    let view;
    let lastSample = 0;
    for (;;) {
      view = await api(procs[0].url, "GET", `/v1/notifications/${id}`);
      if (view.status === "completed" || performance.now() - t0 > maxSeconds * 1000) break;
      if (performance.now() - lastSample > 500) {
        lastSample = performance.now();
        await pgCpu.sample();
      }
      await sleep(50);
    }
    const seconds = (performance.now() - t0) / 1000;
    await pgCpu.sample();
    const cpu = procs.reduce((s, p, i) => s + cpuSecondsOf(p.pid) - cpu0[i], 0);
    const shares = (await Promise.all(procs.map((p) => sentBy(p.url)))).map((x, i) => x - sent0[i]);
    const stats = (await (await fetch(`${emu.url}/_emulator/stats`)).json()).global;
    await sleep(700);
    const writes = (await rowWrites(schema)) - writes0;
    const sent = view.counts.sent;
    return {
      n,
      completed: view.status === "completed",
      sent,
      seconds,
      rate: sent / seconds,
      heraldCpuUs: (cpu / sent) * 1e6,
      pgCpuUs: (pgCpu.total() / sent) * 1e6,
      writesPerMessage: writes / sent,
      shares,
      throttled: stats.throttled,
      load: loadavg()[0],
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    await withPg((c) => c.query(`drop schema if exists "${schema}" cascade`));
  }
}

const seedNo = 7;
const spec = { tenants, users: messages, blockedShare: 0, uninstalledShare: 0 };
const org = new GeneratedOrg(seedNo, spec);
const emu = await startEmulatorProcess({ seed: seedNo, org: spec, limits: false, messageCap: 1000, faults: { slow: 1, slowMs: answerMs } });
const rows = [];
try {
  for (const n of counts) {
    const r = await row(n, emu, org);
    rows.push(r);
    log(
      `[${n}] ${fmt(r.sent)} sent in ${fmt(r.seconds, 1)} s = ${fmt(r.rate)} msg/s${r.completed ? "" : " (NOT completed within the bound)"}`,
    );
  }
} finally {
  await emu.stop();
}

const base = rows.find((r) => r.n === 1)?.rate;
const cpuModel = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
const out = [];
out.push(
  `Herald on 1-${Math.max(...counts)} processes, ${fmt(messages)} messages over ${tenants} tenants per row; emulator answers after ${answerMs} ms, limits off; PostgreSQL + Redis; ${cpuModel}, Node ${process.version}`,
);
out.push("");
out.push(
  "| processes | sent | seconds | msg/s | × 1 process | Herald CPU µs/msg | PostgreSQL CPU µs/msg | rows written/msg | sent by each process | 429s | load (1 min) |",
);
out.push("|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|");
for (const r of rows)
  out.push(
    `| ${r.n} | ${fmt(r.sent)}${r.completed ? "" : " (bound hit)"} | ${fmt(r.seconds, 1)} | ${fmt(r.rate)} | ${base ? fmt(r.rate / base, 2) : "n/a"} | ${fmt(r.heraldCpuUs)} | ${fmt(r.pgCpuUs)} | ${fmt(r.writesPerMessage, 1)} | ${r.shares.map((s) => fmt(s)).join(" / ")} | ${fmt(r.throttled)} | ${fmt(r.load, 1)} |`,
  );
process.stdout.write(`${out.join("\n")}\n`);
