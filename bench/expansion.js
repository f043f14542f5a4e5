// The expansion of an `all` audience alone, no sending: Herald's store writes the delivery rows of
// `--chats` stored 1:1 chats through the windows of the walk by id (the rows built by the database,
// src/store/kysely/chat-window.ts), against the pages it used before (each chat read into
// JavaScript, mapped by `conversationRow`, bound back as 31 parameters), which notifications with a
// local-time schedule still use: the baseline, measured in the same run. Each trial expands a fresh
// notification both ways, in alternating order. CPU is this process's (user + system, all threads);
// on PostgreSQL the server's work is in the wall time only.
//
//   npm run build && node bench/expansion.js [--chats 50000] [--trials 3] [--db sqlite|postgres|both] [--pg-url URL]
import { parseArgs } from "node:util";
import { conversationRow } from "../dist/delivery/audience/rows.js";
import { defaultDeliveryConfig } from "../dist/delivery/config.js";
import { openStore } from "../dist/store/open.js";
import { seededDatabase } from "./delivery/seed.js";

const { values } = parseArgs({
  options: {
    chats: { type: "string", default: "50000" },
    trials: { type: "string", default: "3" },
    db: { type: "string", default: "both" },
    "pg-url": { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
  },
});
const chats = Number(values.chats);
const trials = Number(values.trials);
const page = defaultDeliveryConfig.expansionPage; // 1,000 chats a window, as Herald reads them
const seed = 7;
const spec = { tenants: 3, users: chats, teams: 1, chats: 0, blockedShare: 0, uninstalledShare: 0 };
const seedArgs = { seed, spec, count: chats, serviceUrl: "http://127.0.0.1:1/", appId: "00000000-0000-0000-0000-000000000001" };

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

/** Expand notification `id` to every stored chat, by windows or by pages; returns µs per recipient (CPU, wall). */
async function expand(store, id, byWindows) {
  const d = store.deliveries;
  const now = Date.now();
  await d.createNotification(
    { id, createdBy: "bench", requestHash: "h", audience: { all: true }, message: { text: "hi" }, createdAt: now, expansionDone: false },
    [],
  );
  await d.claimExpansion(id, "bench", now);
  const upTo = await store.recipients.lastSeq();
  const cpu0 = cpuMs();
  const wall0 = performance.now();
  let afterId;
  for (;;) {
    let rows;
    let count;
    let window;
    let last;
    if (byWindows) {
      const w = await store.recipients.personalWindow(undefined, afterId, upTo, page);
      rows = w.decide.map((r) => conversationRow(r, undefined));
      ({ count, window } = w);
      last = w.window?.last;
    } else {
      const p = await store.recipients.personalPageById(undefined, afterId, upTo, page);
      rows = p.items.map((r) => conversationRow(r, undefined));
      count = p.items.length;
      last = p.last;
    }
    const done = count < page;
    const r = await d.appendDeliveries(id, "bench", rows, { cursor: { kind: "all", upTo, afterId: last }, done }, Date.now(), window);
    if (!r.accepted) throw new Error(`${id}: the page was not accepted`);
    if (done) break;
    afterId = last;
    await yieldToLoop(); // as the expansion does between pages
  }
  const cpu = ((cpuMs() - cpu0) * 1000) / chats;
  const wall = ((performance.now() - wall0) * 1000) / chats;
  const n = await d.getNotification(id);
  if (n.total !== chats || n.counts.pending !== chats)
    throw new Error(`${id}: ${n.total} rows, ${n.counts.pending} pending, expected ${chats}`);
  return { cpu, wall };
}

async function measure(db) {
  const { url, cleanup } = await seededDatabase(db, "expansion", values["pg-url"], seedArgs);
  const store = await openStore(url);
  const runs = { windows: [], pages: [] };
  try {
    for (let t = 0; t < trials; t++) {
      const order = t % 2 === 0 ? ["pages", "windows"] : ["windows", "pages"];
      for (const way of order) {
        const r = await expand(store, `n_bench_${way}_${t}`, way === "windows");
        runs[way].push(r);
        console.error(`[${db}] trial ${t + 1}/${trials}, ${way}: ${r.cpu.toFixed(1)} µs CPU, ${r.wall.toFixed(1)} µs wall per recipient`);
      }
    }
  } finally {
    await store.close();
    await cleanup();
  }
  return runs;
}

const dbs = values.db === "both" ? ["sqlite", "postgres"] : [values.db];
const lines = [];
for (const db of dbs) {
  const runs = await measure(db);
  const cpu = (way) => median(runs[way].map((r) => r.cpu));
  const wall = (way) => median(runs[way].map((r) => r.wall));
  for (const way of ["pages", "windows"]) {
    const ratio =
      way === "pages" ? "baseline" : `${(cpu(way) / cpu("pages")).toFixed(2)}× CPU, ${(wall(way) / wall("pages")).toFixed(2)}× wall`;
    lines.push(`| ${db} | ${way} | ${cpu(way).toFixed(1)} | ${wall(way).toFixed(1)} | ${ratio} |`);
  }
}
const { cpus } = await import("node:os");
console.log(
  `\nExpansion of {"all": true}, ${chats.toLocaleString("en-US")} chats, pages of ${page}, median of ${trials} — ${new Date().toISOString()}, ${cpus()[0]?.model ?? "?"}, Node ${process.version}\n`,
);
console.log("| database | path | CPU µs per recipient | wall µs per recipient | windows vs pages |");
console.log("|---|---|---:|---:|---|");
for (const l of lines) console.log(l);
