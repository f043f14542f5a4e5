// The first window of an `all` audience's walk by conversation id against the second, on a
// database never analysed (a new install has no planner statistics): `personalWindow` reads a
// window's size and end and its chats to decide in code (src/store/kysely/chat-window.ts). Every
// window after the first has a lower bound (`id > afterId`); the first had none until f015ab7,
// and SQLite then walked the (status, seq) index and sorted every chat's id to find the first
// 1,000 for the window's size query, with the event loop held meanwhile. The second window is the
// baseline, measured in the same run: the first should cost about as much. Milliseconds of wall
// time per `personalWindow` call, median of the trials.
//
//   npm run build && node bench/first-window.js [--chats 1000000] [--trials 5] [--db sqlite|postgres|both] [--pg-url URL]
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { defaultDeliveryConfig } from "../dist/delivery/config.js";
import { openStore } from "../dist/store/open.js";
import { seededDatabase } from "./delivery/seed.js";

const { values } = parseArgs({
  options: {
    chats: { type: "string", default: "1000000" },
    trials: { type: "string", default: "5" },
    db: { type: "string", default: "sqlite" },
    "pg-url": { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
  },
});
const chats = Number(values.chats);
const trials = Number(values.trials);
const page = defaultDeliveryConfig.expansionPage; // 1,000 chats a window, as Herald reads them
const spec = { tenants: 3, users: chats, teams: 1, chats: 0, blockedShare: 0, uninstalledShare: 0 };
const seedArgs = { seed: 7, spec, count: chats, serviceUrl: "http://127.0.0.1:1/", appId: "00000000-0000-0000-0000-000000000001" };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function timed(fn) {
  const t = performance.now();
  const r = await fn();
  return { ms: performance.now() - t, r };
}

async function measure(db) {
  const { url, cleanup } = await seededDatabase(db, "first-window", values["pg-url"], seedArgs);
  const store = await openStore(url);
  const first = [];
  const second = [];
  try {
    const upTo = await store.recipients.lastSeq();
    const window = (afterId) => store.recipients.personalWindow(undefined, afterId, upTo, page);
    const { r: w1 } = await timed(() => window(undefined)); // warms the caches for both
    const afterId = w1.window?.last;
    if (w1.count !== page || afterId === undefined) throw new Error(`the first window holds ${w1.count} chats, expected ${page}`);
    for (let t = 0; t < trials; t++) {
      const order = t % 2 === 0 ? [undefined, afterId] : [afterId, undefined];
      for (const after of order) {
        const { ms, r } = await timed(() => window(after));
        if (r.count !== page) throw new Error(`a window holds ${r.count} chats, expected ${page}`);
        (after === undefined ? first : second).push(ms);
      }
      console.error(`[${db}] trial ${t + 1}/${trials}: first ${first.at(-1).toFixed(2)} ms, second ${second.at(-1).toFixed(2)} ms`);
    }
  } finally {
    await store.close();
    await cleanup();
  }
  return { first: median(first), second: median(second) };
}

const dbs = values.db === "both" ? ["sqlite", "postgres"] : [values.db];
const lines = [];
for (const db of dbs) {
  const m = await measure(db);
  lines.push(`| ${db} | ${m.first.toFixed(2)} | ${m.second.toFixed(2)} | ${(m.first / m.second).toFixed(1)}× |`);
}
console.log(
  `\nThe first window of {"all": true} against the second, ${chats.toLocaleString("en-US")} chats, no planner statistics, windows of ${page.toLocaleString("en-US")}, median of ${trials} — ${new Date().toISOString()}, ${cpus()[0]?.model ?? "?"}, Node ${process.version}\n`,
);
console.log("| database | first window, ms | second window (baseline), ms | first vs second |");
console.log("|---|---:|---:|---:|");
for (const l of lines) console.log(l);
