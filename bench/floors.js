#!/usr/bin/env node
// The floors under issue 14's open speed goals on this machine: what the HTTP exchange alone costs
// a sender with no store and no limits, and what waking to send alone costs at Teams' ceiling.
// Each table's baseline (×1.00) is the client bench/run.js compares Herald with, measured in the
// same run; the other rows are leaner senders of the same messages to the same emulator: Herald's
// own Connector exchange (dist/connector/transport.js; the bench's body, the answer parsed as
// Herald parses it) and a raw `node:net` keep-alive client (each request one string and one
// write, answers parsed by hand).
//
//   npm run build && node bench/floors.js [--messages 50000] [--seconds 12] [--trials 2] [--skip-http] [--skip-paced]
//
// Table 1, limits off, 32 requests in flight: the bench's bare client (undici `request`, the
// answer read as a stream), Herald's exchange, raw sockets. Table 2, 3 tenants each paced to 48
// requests a second with the emulator's limits on (50/s per tenant): the bench's paced client (a
// timer per tenant, tenants out of step, one request per wake-up), the same in groups of 10, then
// ONE timer for all tenants sending each tenant's next 10 through Herald's exchange, and on raw
// sockets (pipelined, one socket per tenant). CPU is this process's (all threads, process.cpuUsage),
// wake-ups the voluntary context switches of its main thread; raw sockets connect before the
// measure starts, undici's pools inside it. Each sender first runs once, small and unmeasured (V8's
// warm-up), and the order rotates from trial to trial. Loopback only; every run is bounded by
// --messages or --seconds, and a raw run whose answers stop coming fails after 30 s.
import net from "node:net";
import { parseArgs } from "node:util";
import { createHttpAgent, exchange } from "../dist/connector/transport.js";
import { GeneratedOrg } from "../dist/emulator/index.js";
import { bareClientLoop, bareClientPaced, isAccepted, messageTo, sendAll, usersByTenant } from "./delivery/bare.js";
import { activityOf, cpuSecondsOf, startEmulatorProcess } from "./delivery/procs.js";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "50000" },
    seconds: { type: "string", default: "12" },
    trials: { type: "string", default: "2" },
    "skip-http": { type: "boolean", default: false },
    "skip-paced": { type: "boolean", default: false },
  },
});
const messages = Number(values.messages);
const seconds = Number(values.seconds);
const trials = Number(values.trials);
for (const [name, v] of [
  ["--messages", messages],
  ["--seconds", seconds],
  ["--trials", trials],
])
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`${name} must be a number > 0 (got ${v})`);

const fmt = (n, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
/** The median (of an even count, the mean of the middle two). */
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid) ? (sorted[mid - 1] + sorted[mid]) / 2 : sorted[Math.floor(mid)];
};
/** How long a run may wait for its last answers before it fails. */
const ANSWERS_DEADLINE_MS = 30_000;

const exchangeHeaders = { accept: "application/json", "content-type": "application/json; charset=utf-8", "user-agent": "Herald" };

/** One message through Herald's exchange, its answer parsed as Herald's client does; resolves with the status. */
async function viaExchange(agent, org, base, appId, i) {
  const { path, body } = messageTo(org, base, appId, i);
  const answer = await exchange(agent, { origin: base.origin, path, method: "POST", headers: exchangeHeaders, body });
  JSON.parse(answer.body);
  return answer.status;
}

/** Answers counted as they come: accepted, 429, other (a failure), and how many are still awaited. */
class Tally {
  sent = 0;
  throttled = 0;
  failed = 0;
  pending = 0;
  /** When the last answer (or loss) was counted: idle()'s deadline runs from it. */
  lastAnswerAt = performance.now();
  #whenIdle = undefined;
  expect(n) {
    this.pending += n;
  }
  answer(status) {
    if (status === 429) this.throttled++;
    else if (isAccepted(status)) this.sent++;
    else this.failed++;
    this.#settle(1);
  }
  lost(n) {
    this.failed += n;
    this.#settle(n);
  }
  #settle(n) {
    this.pending -= n;
    this.lastAnswerAt = performance.now();
    if (this.pending === 0) this.#whenIdle?.();
  }
  /** Resolves when no answer is awaited; rejects when none has come for ANSWERS_DEADLINE_MS while some are. */
  idle() {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = setInterval(() => {
        if (performance.now() - this.lastAnswerAt < ANSWERS_DEADLINE_MS) return;
        clearInterval(check);
        reject(new Error(`no answer for ${ANSWERS_DEADLINE_MS} ms with ${this.pending} still awaited`));
      }, 1_000);
      this.#whenIdle = () => {
        clearInterval(check);
        resolve();
      };
    });
  }
}

/**
 * A raw HTTP/1.1 keep-alive connection: `write(msgs)` sends the requests of `msgs` in one write
 * (pipelined when several); each answer goes to `tally`, in order, after `onAnswer()` has run.
 * Answers are read by their content-length (the emulator sends one on every answer). A socket
 * error or close with answers outstanding counts them lost.
 */
async function rawConnection(base, tally, onAnswer = () => {}) {
  const socket = await new Promise((resolve, reject) => {
    const s = net.connect(Number(base.port), base.hostname);
    s.once("error", reject);
    s.once("connect", () => {
      s.off("error", reject);
      resolve(s);
    });
  });
  socket.setNoDelay(true);
  let outstanding = 0;
  const lose = () => {
    if (outstanding > 0) tally.lost(outstanding);
    outstanding = 0;
  };
  socket.on("error", lose);
  socket.on("close", lose);
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    buffered = buffered.length > 0 ? Buffer.concat([buffered, chunk]) : chunk;
    for (;;) {
      const headEnd = buffered.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      const head = buffered.toString("latin1", 0, headEnd);
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.length < headEnd + 4 + length) return;
      JSON.parse(buffered.toString("utf8", headEnd + 4, headEnd + 4 + length) || "{}");
      buffered = buffered.subarray(headEnd + 4 + length);
      outstanding--;
      const status = Number(head.slice(9, 12));
      // The next request first, then the answer counted: `pending` never reads 0 between the two.
      onAnswer();
      tally.answer(Number.isInteger(status) ? status : 0);
    }
  });
  const request = ({ path, body }) =>
    `POST ${path} HTTP/1.1\r\nhost: ${base.host}\r\naccept: application/json\r\ncontent-type: application/json; charset=utf-8\r\nuser-agent: Herald\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  return {
    write: (msgs) => {
      outstanding += msgs.length;
      socket.write(msgs.map(request).join(""));
    },
    end: () => socket.end(),
  };
}

async function exchangeLoop(org, count, base, appId, inFlight) {
  const agent = createHttpAgent({ connectionsPerOrigin: inFlight });
  try {
    return await sendAll(count, inFlight, (i) => viaExchange(agent, org, base, appId, i));
  } finally {
    await agent.close();
  }
}

/** As `sendAll` (bench/delivery/bare.js), on `inFlight` raw connections: each sends its next message when its answer comes. */
async function rawLoop(org, count, base, appId, inFlight) {
  const tally = new Tally();
  let next = 0;
  const sendNext = (c) => {
    const i = next++;
    if (i >= count) return;
    tally.expect(1);
    c.write([messageTo(org, base, appId, i)]);
  };
  const connections = [];
  try {
    for (let k = 0; k < inFlight; k++) {
      const c = await rawConnection(base, tally, () => sendNext(c));
      connections.push(c);
    }
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (const c of connections) sendNext(c);
    await tally.idle();
    const elapsed = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const refused = tally.failed + tally.throttled;
    if (refused > 0) throw new Error(`raw: ${refused} of ${count} requests failed`);
    return { seconds: elapsed, cpu: (cpu.user + cpu.system) / 1e6 };
  } finally {
    for (const c of connections) c.end();
  }
}

/**
 * The users of `org` by tenant, each tenant paced to `rps` in groups of `group` on ONE timer for
 * all tenants (every tenant's next group leaves at the same tick), for `secs`: through Herald's
 * exchange (`how` "exchange") or pipelined on one raw socket per tenant ("raw"). Returns what
 * bareClientPaced returns.
 */
async function sharedTimerPaced(org, count, base, appId, rps, secs, group, how) {
  const tenants = usersByTenant(org, count);
  const tally = new Tally();
  // As many connections as the paced client's pool (bench/delivery/bare.js), for the exchange.
  const agent = how === "exchange" ? createHttpAgent({ connectionsPerOrigin: 8 }) : undefined;
  const sockets = [];
  let ok = false;
  try {
    if (how === "raw") for (const _ of tenants) sockets.push(await rawConnection(base, tally));
    const gapMs = (1000 * group) / rps;
    const wakeupsBefore = activityOf(process.pid).mainWakeups;
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    for (let tick = 0; tick * gapMs <= secs * 1000; tick++) {
      const wait = started + tick * gapMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      tenants.forEach((users, t) => {
        const mine = users.slice(tick * group, (tick + 1) * group);
        tally.expect(mine.length);
        if (agent)
          for (const i of mine)
            viaExchange(agent, org, base, appId, i).then(
              (status) => tally.answer(status),
              () => tally.lost(1),
            );
        else sockets[t].write(mine.map((i) => messageTo(org, base, appId, i)));
      });
    }
    await tally.idle();
    const elapsed = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const wakeups = activityOf(process.pid).mainWakeups - wakeupsBefore;
    if (tally.failed > 0) throw new Error(`${how}: ${tally.failed} requests failed`);
    ok = true;
    return { sent: tally.sent, throttled: tally.throttled, seconds: elapsed, cpu: (cpu.user + cpu.system) / 1e6, wakeups };
  } finally {
    // On a failure, destroy: close() would wait for every queued request to time out.
    if (ok) await agent?.close();
    else await agent?.destroy();
    for (const s of sockets) s.end();
  }
}

/**
 * Runs each variant once small and unmeasured (`run(true)`: V8's warm-up of the code they share),
 * then `trials` times in an order that rotates from trial to trial; returns per variant its trials'
 * results with the emulator's CPU seconds.
 */
async function alternate(variants, emulatorPid) {
  const pause = () => new Promise((resolve) => setTimeout(resolve, 1_500)); // the emulator's windows drain between runs
  for (const v of variants) {
    await v.run(true);
    await pause();
  }
  const results = new Map(variants.map((v) => [v.name, []]));
  for (let t = 0; t < trials; t++)
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + t) % variants.length];
      const before = cpuSecondsOf(emulatorPid);
      const r = await v.run(false);
      r.emulatorCpu = cpuSecondsOf(emulatorPid) - before;
      results.get(v.name).push(r);
      process.stderr.write(
        `[floors] ${v.name}, trial ${t + 1}/${trials}: ${fmt(((r.cpu * 1e6) / (r.sent ?? messages)) | 0)} µs per message\n`,
      );
      await pause();
    }
  return results;
}

function printTable(title, header, rows) {
  console.log(`\n${title}\n`);
  console.log(`| ${header.join(" | ")} |`);
  console.log(`|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}

const seed = 7;
console.log(`Herald floors benchmark — ${new Date().toISOString()}, Node ${process.version}`);

if (!values["skip-http"]) {
  const spec = { tenants: 1, users: messages, teams: 1, chats: 0, blockedShare: 0, uninstalledShare: 0 };
  const emu = await startEmulatorProcess({ seed, org: spec, limits: false, auth: false, messageCap: 1000 });
  try {
    const org = new GeneratedOrg(seed, spec);
    const base = new URL(emu.connectorUrl);
    const size = (warm) => (warm ? Math.min(messages, 5_000) : messages);
    const results = await alternate(
      [
        {
          name: "bench's bare client (undici request, 32 in flight)",
          run: (warm) => bareClientLoop(org, size(warm), emu.connectorUrl, emu.appId, 32),
        },
        { name: "Herald's exchange (32 in flight)", run: (warm) => exchangeLoop(org, size(warm), base, emu.appId, 32) },
        { name: "raw node:net (32 sockets)", run: (warm) => rawLoop(org, size(warm), base, emu.appId, 32) },
      ],
      emu.pid,
    );
    const perMessage = (rs, pick) => median(rs.map((r) => (pick(r) * 1e6) / messages));
    const baseline = perMessage([...results.values()][0], (r) => r.cpu);
    printTable(
      `1. The HTTP exchange alone: ${fmt(messages)} messages, emulator limits off, median of ${trials}`,
      ["sender", "msg/s", "its CPU per message", "emulator CPU per message", "CPU × the bare client"],
      [...results].map(([name, rs]) => [
        name,
        fmt(median(rs.map((r) => messages / r.seconds))),
        `${fmt(
          perMessage(rs, (r) => r.cpu),
          1,
        )} µs`,
        `${fmt(
          perMessage(rs, (r) => r.emulatorCpu),
          1,
        )} µs`,
        `×${fmt(perMessage(rs, (r) => r.cpu) / baseline, 2)}`,
      ]),
    );
  } finally {
    await emu.stop();
  }
}

if (!values["skip-paced"]) {
  const rps = 48;
  const tenants = 3;
  const tenantUsers = Math.ceil(rps * seconds) + 50;
  const spec = { tenants, users: tenants * tenantUsers, teams: tenants, chats: 0, blockedShare: 0, uninstalledShare: 0 };
  const emu = await startEmulatorProcess({ seed, org: spec, limits: true, tenantRps: 50, timeScale: 1, auth: false, messageCap: 1000 });
  try {
    const org = new GeneratedOrg(seed, spec);
    const base = new URL(emu.connectorUrl);
    const count = tenants * tenantUsers;
    const secs = (warm) => (warm ? Math.min(seconds, 3) : seconds);
    const results = await alternate(
      [
        {
          name: "bench's paced client: a timer per tenant, 1 per wake-up",
          run: (warm) => bareClientPaced(org, count, emu.connectorUrl, emu.appId, rps, secs(warm), 1),
        },
        { name: "the same, groups of 10", run: (warm) => bareClientPaced(org, count, emu.connectorUrl, emu.appId, rps, secs(warm), 10) },
        {
          name: "one timer for all tenants, groups of 10, Herald's exchange",
          run: (warm) => sharedTimerPaced(org, count, base, emu.appId, rps, secs(warm), 10, "exchange"),
        },
        {
          name: "one timer for all tenants, groups of 10, raw pipelined",
          run: (warm) => sharedTimerPaced(org, count, base, emu.appId, rps, secs(warm), 10, "raw"),
        },
      ],
      emu.pid,
    );
    const perSent = (rs, pick) => median(rs.map((r) => pick(r) / r.sent));
    const cpu = (r) => r.cpu * 1e6;
    const baseline = perSent([...results.values()][0], cpu);
    printTable(
      `2. Waking to send at the ceiling: ${tenants} tenants × ${rps}/s for ${seconds} s, emulator limits on (50/s per tenant), median of ${trials}`,
      ["sender", "accepted (all trials)", "429s", "its CPU per message", "wake-ups per message", "CPU × the paced client"],
      [...results].map(([name, rs]) => [
        name,
        fmt(rs.reduce((n, r) => n + r.sent, 0)),
        fmt(rs.reduce((n, r) => n + r.throttled, 0)),
        `${fmt(perSent(rs, cpu))} µs`,
        fmt(
          perSent(rs, (r) => r.wakeups),
          2,
        ),
        `×${fmt(perSent(rs, cpu) / baseline, 2)}`,
      ]),
    );
  } finally {
    await emu.stop();
  }
}
