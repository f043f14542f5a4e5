#!/usr/bin/env node
// Invokes answered per second while a broadcast is sending (issue 10). Loopback only, bounded.
//
//   npm run build && node bench/invokes.js                  # 20 s of votes at 1,000/s offered
//   node bench/invokes.js --rate 1500 --seconds 15 --users 30000
//
// Two processes, as deployed: the emulator (Teams; its limits on, 3 tenants) and Herald (`herald
// serve` as built, SQLite file). Herald knows --users personal chats (seeded) and the first team of
// each tenant (installed through the emulator). A poll goes to each team's General channel, then a
// broadcast to everyone starts (paced at Teams' 50 messages/s per tenant); while it sends, the
// emulator's control API (/_emulator/invokes) has distinct team members press "Vote", --rate per
// second offered in 100 ms slices (open loop), for --seconds. Printed: invokes answered per second,
// latency p50/p99/max as the emulator measured it (post to answer, queueing for one of its 64
// connections included), answers stored vs. sent, and whether the broadcast was still sending.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startEmulatorProcess, startHeraldProcess } from "./delivery/procs.js";
import { seedPersonalChats } from "./delivery/seed.js";

const { values } = parseArgs({
  options: {
    users: { type: "string", default: "30000" },
    rate: { type: "string", default: "1000" },
    seconds: { type: "string", default: "20" },
  },
});
const users = Number(values.users);
const rate = Number(values.rate);
const seconds = Math.min(60, Number(values.seconds));
const apiKey = "bench-admin-key-0123456789abcdef";
const log = (s) => process.stderr.write(`${s}\n`);
const work = mkdtempSync(join(tmpdir(), "herald-invokes-"));
const seed = 404;
const spec = { tenants: 3, users, teams: 3, channelsPerTeam: 1, chats: 0, blockedShare: 0, uninstalledShare: 0 };

async function json(url, method, body, key) {
  const res = await fetch(url, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const out = await res.json();
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status} ${JSON.stringify(out)}`);
  return out;
}
const pct = (xs, p) => (xs.length === 0 ? Number.NaN : xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]);

const emulator = await startEmulatorProcess({ seed, org: spec, limits: true, tenantRps: 50, botConcurrency: 64, historyCap: 2 });
const dbPath = join(work, "herald.db");
let herald;
try {
  await seedPersonalChats(dbPath, { seed, spec, count: users, serviceUrl: emulator.connectorUrl, appId: emulator.appId });
  herald = await startHeraldProcess({
    HERALD_PORT: "0",
    HERALD_DATABASE_URL: `sqlite:${dbPath}`,
    HERALD_APP_ID: emulator.appId,
    HERALD_APP_PASSWORD: "bench-secret",
    HERALD_APP_TYPE: "MultiTenant",
    HERALD_TOKEN_ENDPOINT: emulator.tokenUrl,
    HERALD_OPENID_METADATA_URL: `${emulator.url}/v1/.well-known/openidconfiguration`,
    HERALD_TOKEN_ISSUER: "https://api.botframework.com",
    HERALD_TRUSTED_HOSTS: "127.0.0.1",
    HERALD_API_KEY: apiKey,
    HERALD_LOG_LEVEL: "error",
  });
  const api = (method, path, body) => json(herald.url + path, method, body, apiKey);
  const control = (path, body) => json(emulator.url + path, "POST", body);
  await json(`${emulator.url}/_emulator/bot`, "PUT", { endpoint: `${herald.url}/api/messages` });
  const teams = (await json(`${emulator.url}/_emulator/teams`, "GET")).teams.filter((t) => t.memberCount > 1_000);
  for (const t of teams) await control("/_emulator/install", { teamId: t.id, wait: true });
  log(`emulator ${emulator.url}, Herald ${herald.url}; ${users} chats seeded, ${teams.length} teams installed`);

  const polls = [];
  for (const t of teams) {
    const { id } = await api("POST", "/v1/notifications", {
      audience: { teams: [t.id], deliverTo: "channel" },
      message: { poll: { question: "Bench: which option?", options: ["A", "B", "C", "D"] } },
    });
    let post;
    for (let i = 0; i < 300 && !post?.activityId; i++) {
      post = (await api("GET", `/v1/notifications/${id}/deliveries`)).items[0];
      if (!post?.activityId) await new Promise((r) => setTimeout(r, 100));
    }
    if (!post?.activityId) throw new Error(`the poll to ${t.id} was not posted`);
    polls.push({ id, team: t, post, next: 0 });
  }
  const broadcast = await api("POST", "/v1/notifications", { audience: { all: true }, message: { text: "Bench broadcast ${givenName}" } });
  await new Promise((r) => setTimeout(r, 2_000));
  log(`broadcast ${broadcast.id} sending; offering ${rate} votes/s for ${seconds} s`);

  // Each team's members (Teams ids), so every vote comes from a distinct member.
  const teamUsers = [];
  for (const p of polls) {
    const ids = [];
    let cursor = "0";
    while (cursor !== null) {
      const page = await json(
        `${emulator.url}/_emulator/teams/${encodeURIComponent(p.team.id)}/members?limit=1000&cursor=${cursor}`,
        "GET",
      );
      for (const m of page.members) ids.push(m.id);
      cursor = page.cursor;
    }
    teamUsers.push(ids);
  }
  const latencies = [];
  const statuses = {};
  let offered = 0;
  const inflight = [];
  const started = performance.now();
  const perSlice = Math.max(1, Math.round(rate / 10));
  let slice = 0;
  while (performance.now() - started < seconds * 1000) {
    const p = polls[slice % polls.length];
    const who = teamUsers[slice % polls.length].slice(p.next, p.next + perSlice);
    p.next += who.length;
    slice++;
    if (who.length > 0) {
      offered += who.length;
      inflight.push(
        control("/_emulator/invokes", {
          users: who,
          conversationId: p.post.conversationId,
          replyToId: p.post.activityId,
          verb: "herald.response.poll",
          data: { heraldChoice: String(offered % 4) },
        }).then((r) => {
          for (const x of r.results) {
            statuses[x.status] = (statuses[x.status] ?? 0) + 1;
            if (x.latencyMs !== undefined) latencies.push(x.latencyMs);
          }
        }),
      );
    }
    const due = started + slice * 100;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  let stored = 0;
  for (const p of polls) stored += (await api("GET", `/v1/notifications/${p.id}`)).responses.total;
  const b = await api("GET", `/v1/notifications/${broadcast.id}`);
  const answered = statuses[200] ?? 0;
  const result = {
    offeredPerSecond: rate,
    seconds: Math.round(elapsed * 10) / 10,
    invokes: offered,
    answered,
    answeredPerSecond: Math.round(answered / elapsed),
    latencyMs: { p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies.at(-1) },
    statuses,
    answersStored: stored,
    broadcast: { status: b.status, sent: b.counts.sent, total: b.total },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await herald?.stop();
  await emulator.stop();
  rmSync(work, { recursive: true, force: true });
}
