#!/usr/bin/env node
// The in-process rate limiter alone (src/delivery/limits/memory.ts), as a broadcast uses it: every
// request takes its tenant's bucket and the bucket of a conversation never seen before.
//
//   npm run build && node bench/limiter.js                  # 200,000 requests, 5 rounds
//   node bench/limiter.js --requests 500000 --rounds 3
//
// Two patterns, simulated clock, one process, nothing else running:
// - limits off (HERALD_TENANT_RPS=0): 5,000 requests a second, every one admitted;
// - at the ceiling (50/s per tenant): each request waits for the slot the limiter names.
// Baseline, measured in the same run: what any state per conversation costs at the least, one Map
// entry per key in two generations of a second (no windows, no decision). Printed: µs per request
// (median of the rounds) and the ratio to the baseline.
import { parseArgs } from "node:util";
import { InProcessRateLimiter } from "../dist/delivery/limits/memory.js";
import { conversationBucket, policiesFor, tenantBucket } from "../dist/delivery/policies.js";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "200000" },
    rounds: { type: "string", default: "5" },
  },
});
const requests = Number(values.requests);
const rounds = Number(values.rounds);
if (!(requests >= 1_000 && requests <= 5_000_000) || !(rounds >= 1 && rounds <= 20)) {
  process.stderr.write("bench/limiter.js: --requests must be 1,000..5,000,000 and --rounds 1..20\n");
  process.exit(2);
}
const conversations = Array.from({ length: requests }, (_, i) => `a:1${((i * 2_654_435_761) % 4_294_967_296).toString(36)}`);

/**
 * `n` requests of one tenant to new conversations, one every `stepMs` of the simulated clock; a
 * refused one waits the milliseconds the limiter answered, then asks again (as a lane does).
 */
async function broadcast(tenantRps, n, stepMs) {
  const policies = policiesFor(tenantRps, 1, 1);
  const limiter = new InProcessRateLimiter();
  const tenant = tenantBucket(policies, "t1");
  let now = 1_000_000;
  let calls = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; ) {
    calls++;
    now += stepMs;
    const wait = await limiter.tryAcquire([tenant, conversationBucket(policies, "send", conversations[i])], now);
    if (wait === 0) i++;
    else now += wait;
  }
  const ns = Number(process.hrtime.bigint() - started);
  return { us: ns / n / 1_000, callsPerRequest: calls / n };
}

/** Limits off: one request every 0.2 ms (5,000/s), each admitted. */
async function unthrottled() {
  const run = await broadcast(0, requests, 0.2);
  if (run.callsPerRequest !== 1) throw new Error(`limits off refused requests (${run.callsPerRequest} calls per request)`);
  return run.us;
}

/** One tenant at 50/s. */
const atCeiling = () => broadcast(50, Math.min(requests, 50_000), 0);

/** The baseline: a Map entry per key, the maps of two generations of one second (the least any per-key state costs), behind an await as the limiter's answer is. */
async function mapEntries() {
  let current = new Map();
  let since = 1_000_000;
  let now = 1_000_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < requests; i++) {
    now += 0.2;
    if (now - since >= 1_000) {
      current = new Map();
      since = now;
    }
    const key = `send:${conversations[i]}`;
    if ((await Promise.resolve(current.get(key))) === undefined) current.set(key, now);
  }
  const ns = Number(process.hrtime.bigint() - started);
  return ns / requests / 1_000;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = { unthrottled: [], ceiling: [], calls: [], baseline: [] };
for (let r = 0; r < rounds; r++) {
  runs.baseline.push(await mapEntries());
  runs.unthrottled.push(await unthrottled());
  const c = await atCeiling();
  runs.ceiling.push(c.us);
  runs.calls.push(c.callsPerRequest);
}
const base = median(runs.baseline);
const fmt = (x) => x.toFixed(2);
const rows = [
  [
    "limits off, 5,000 requests/s, each to a new conversation",
    `${fmt(median(runs.unthrottled))} µs`,
    `×${fmt(median(runs.unthrottled) / base)}`,
  ],
  [
    `one tenant at 50/s (${fmt(median(runs.calls))} limiter calls per request)`,
    `${fmt(median(runs.ceiling))} µs`,
    `×${fmt(median(runs.ceiling) / base)}`,
  ],
  ["baseline: one Map entry per key, two generations of 1 s", `${fmt(base)} µs`, "×1.00"],
];
process.stdout.write(
  `In-process rate limiter, ${requests.toLocaleString("en-US")} requests, median of ${rounds} rounds, Node ${process.version}\n\n| pattern | per request | vs baseline |\n|---|---|---|\n${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}\n`,
);
