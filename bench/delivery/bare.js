// The third column of the throughput run: a bare keep-alive HTTP client (undici, the client
// Herald itself uses) with 32 requests in flight, no store, no limits, no retries, sending the
// same messages to the same emulator: about what Herald would reach if its durable bookkeeping
// (rows, marks, results, counters) and its limits cost nothing. Not the machine's floor: leaner
// senders of the same messages (Herald's own exchange, raw sockets) cost less (bench/floors.js).
import { Agent } from "undici";
import { activityOf } from "./procs.js";

/** A 2xx answer; anything else (or no number at all) is a failure. */
export const isAccepted = (status) => status >= 200 && status < 300;

/**
 * The benchmark's message to user i of `org`: the path of the Connector's activities endpoint of
 * the user's 1:1 chat under `base` (the service URL), and the JSON body. bench/floors.js sends the
 * same through its other senders.
 */
export function messageTo(org, base, appId, i) {
  const u = org.user(i);
  const conversationId = org.personalConversationId(i);
  return {
    path: `${prefixOf(base)}/v3/conversations/${encodeURIComponent(conversationId)}/activities`,
    body: JSON.stringify({
      type: "message",
      from: { id: `28:${appId}`, name: "Herald" },
      conversation: { id: conversationId },
      recipient: { id: u.id, name: u.name },
      text: `Hello ${u.name.split(" ")[0]}, this is a benchmark.`,
    }),
  };
}

const prefixes = new WeakMap();
/** The service URL's path without its trailing slash, worked out once per URL object (not per message). */
function prefixOf(base) {
  let prefix = prefixes.get(base);
  if (prefix === undefined) {
    prefix = base.pathname.replace(/\/$/, "");
    prefixes.set(base, prefix);
  }
  return prefix;
}

/**
 * A sender of the benchmark's message to user i of `org` over `agent`: one POST, the answer read;
 * resolves with the HTTP status.
 */
function messageSender(agent, org, serviceUrl, appId) {
  const base = new URL(serviceUrl);
  return async (i) => {
    const { path, body } = messageTo(org, base, appId, i);
    const res = await agent.request({
      origin: base.origin,
      path,
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8" },
      body,
    });
    await res.body.text();
    return res.statusCode;
  };
}

/**
 * Users [0, count), `inFlight` at a time, through `send(i)` (→ HTTP status); throws when any was
 * not accepted. Returns elapsed seconds and this process's CPU seconds.
 */
export async function sendAll(count, inFlight, send) {
  let next = 0;
  let failed = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const worker = async () => {
    for (let i = next++; i < count; i = next++) if (!isAccepted(await send(i))) failed++;
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (failed > 0) throw new Error(`${failed} of ${count} requests failed`);
  return { seconds, cpu: (cpu.user + cpu.system) / 1e6 };
}

/** Send one message to each of users [0, count) of `org`, `inFlight` at a time; returns elapsed seconds and the client's CPU seconds. */
export async function bareClientLoop(org, count, serviceUrl, appId, inFlight = 32) {
  const agent = new Agent({ connections: inFlight, keepAliveTimeout: 30_000, pipelining: 1 });
  try {
    return await sendAll(count, inFlight, messageSender(agent, org, serviceUrl, appId));
  } catch (e) {
    throw new Error(`bare client: ${e.message}`, { cause: e });
  } finally {
    await agent.close();
  }
}

/** Users [0, count) of `org` by tenant: one list of indexes per tenant, in order. */
export function usersByTenant(org, count) {
  const byTenant = new Map();
  for (let i = 0; i < count; i++) {
    const tenantId = org.user(i).tenantId;
    const mine = byTenant.get(tenantId);
    if (mine) mine.push(i);
    else byTenant.set(tenantId, [i]);
  }
  return [...byTenant.values()];
}

/**
 * The floor of the saturation run: the same bare client sending to users [0, count) of `org`
 * with each tenant paced to `rps` in groups of `group` (one timer per group: 1 = per request, as
 * any sender that waits for a rate-limit slot wakes once per request; k = what Herald's ticks
 * do), for at most `seconds`. Tenants are spread evenly over the interval (tenant i of n starts
 * i/n of it late), as independent lanes would be, so that their timers do not share wake-ups.
 * No store, no limiter state, no retries: what waking to send costs this sender before any
 * bookkeeping (leaner senders cost less: bench/floors.js). Returns the messages accepted, the 429s, elapsed
 * and CPU seconds, and the event loop's wake-ups (voluntary context switches of this thread).
 */
export async function bareClientPaced(org, count, serviceUrl, appId, rps, seconds, group = 1) {
  const agent = new Agent({ connections: 8, keepAliveTimeout: 30_000, pipelining: 1 });
  const post = messageSender(agent, org, serviceUrl, appId);
  const tenants = usersByTenant(org, count);
  const gapMs = (1000 * group) / rps;
  let sent = 0;
  let throttled = 0;
  let failed = 0;
  const wakeupsBefore = activityOf(process.pid).mainWakeups;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const send = async (i) => {
    const status = await post(i);
    if (status === 429) throttled++;
    else if (!isAccepted(status)) failed++;
    else sent++;
  };
  const tenantLoop = async (indexes, phase) => {
    const inFlight = [];
    for (let k = 0; k < indexes.length; k += group) {
      const due = started + phase * gapMs + (k / group) * gapMs;
      if (due - started > seconds * 1000) break;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      for (const i of indexes.slice(k, k + group)) inFlight.push(send(i));
    }
    await Promise.all(inFlight);
  };
  await Promise.all(tenants.map((indexes, t) => tenantLoop(indexes, t / tenants.length)));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const wakeups = activityOf(process.pid).mainWakeups - wakeupsBefore;
  await agent.close();
  if (failed > 0) throw new Error(`paced bare client: ${failed} requests failed`);
  return { sent, throttled, seconds: elapsed, cpu: (cpu.user + cpu.system) / 1e6, wakeups };
}
