import { randomBytes, randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GeneratedOrg } from "../../src/emulator/index.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/ports.js";
import { emulatorEnv } from "../helpers/stack.js";
import { allDeliveries, testPostgresUrl, withPostgres } from "../helpers/stores.js";
import {
  assertBuilt,
  type EmulatorProcess,
  type HeraldKind,
  type HeraldProcess,
  startEmulatorProcess,
  startHerald,
  until,
} from "./processes.js";

/**
 * Several Herald processes, proven: one `herald serve` and two `herald worker` (real processes,
 * bin/herald.js) on one PostgreSQL schema and one Redis, sending to `herald emulator` (its own
 * process, over HTTP) with Teams' limits on at their real windows (the per-tenant ceiling: see
 * teamsRps). The emulator's seed is random, so its tenant
 * ids, which key the rate-limit buckets in Redis, are this file's own.
 *
 * Each test broadcasts to its own slice of users (so a user's received count is that test's),
 * two tenants of 300-450 users: the shared one more than two lanes' claims (200 rows each), so
 * every process gets rows. Bounds: 23-35 s of sending per broadcast at the ceiling, plus the lease
 * time (30 s) once; each test at most 120 s.
 */
const schema = `herald_scale_${randomBytes(5).toString("hex")}`;
const databaseUrl = `${testPostgresUrl}?options=${encodeURIComponent(`-c search_path=${schema}`)}`;
const apiKey = "scale-test-admin-key-0123456789abcdef";
const tenants = 2;
/** Users per tenant for each test, in this order. */
const slices = { shared: 450, kill: 300, rolling: 350 } as const;
const perTenant = slices.shared + slices.kill + slices.rolling;
/**
 * Teams' per-tenant ceiling on the emulator (15/s, lower than Teams' 50 so that the processes
 * could exceed it many times over even on this busy 2-core machine: three processes with their
 * own buckets offer up to 3 × 13 per tenant), and the one Herald is given: 13. Herald's shared
 * buckets space the moments requests take their slot (GCRA, 30 ms margin), but a request reaches
 * Teams later by its own process's event-loop and connection delays, and requests of different
 * processes can arrive bunched. On this machine (load average 12-16 on 2 cores from other work)
 * that gave 0-2 × 429 per broadcast at 13 against 15, and 1-6 with Herald's ceiling equal to
 * Teams' (Herald then waited the Retry-After: never a violation); with each process given its
 * own Redis database (buckets not shared), the first test drew 204 × 429 and 254 violations for
 * 900 sends. Hence the bound in expectCeilingHeld: no violation, at most 1 % answered 429.
 */
const teamsRps = 15;
const heraldRps = 13;
/** The engine's defaults (src/delivery/config.ts): a worker silent for staleMs is dead; others look every heartbeatMs. */
const staleMs = 30_000;
const heartbeatMs = 5_000;

let emulator: EmulatorProcess;
let org: GeneratedOrg;
let store: Store;
const procs: HeraldProcess[] = [];
/** The running serve and two workers (replaced when a test stops one). */
const live: { serve?: HeraldProcess; w1?: HeraldProcess; w2?: HeraldProcess } = {};

function env(): Record<string, string> {
  return emulatorEnv(emulator, {
    HERALD_DATABASE_URL: databaseUrl,
    HERALD_REDIS_URL: "redis://127.0.0.1:6379",
    HERALD_API_KEY: apiKey,
    HERALD_TENANT_RPS: String(heraldRps),
    HERALD_LOG_LEVEL: "warn",
  });
}

async function start(kind: HeraldKind, name: string): Promise<HeraldProcess> {
  const p = await startHerald(kind, name, env());
  procs.push(p);
  return p;
}

/** Users [offset, offset + count) of every tenant: their 1:1 conversation ids. */
function usersOf(offset: number, count: number): number[] {
  const out: number[] = [];
  for (const t of org.tenants) for (let k = 0; k < count; k++) out.push(t.userStart + offset + k);
  return out;
}

/** Store the users' 1:1 chats as installs would have (one multi-row insert per 1000). */
async function seedConversations(users: readonly number[]): Promise<void> {
  const now = new Date().toISOString();
  await withPostgres(async (client) => {
    for (let i = 0; i < users.length; i += 1000) {
      const part = users.slice(i, i + 1000).map((u) => {
        const user = org.user(u);
        return [org.personalConversationId(u), user.tenantId, user.id, user.name, user.aadObjectId ?? null];
      });
      await client.query(
        `insert into "${schema}".conversations (id, kind, tenant_id, service_url, channel_id, bot_id, user_id, user_name, user_aad_object_id,
           last_activity_at, status, archived, created_at, updated_at)
         select c.id, 'personal', c.tenant_id, $6, 'msteams', $7, c.user_id, c.user_name, c.aad, $8::timestamptz, 'active', false, $8::timestamptz, $8::timestamptz
         from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) as c(id, tenant_id, user_id, user_name, aad)`,
        [...[0, 1, 2, 3, 4].map((k) => part.map((r) => r[k])), emulator.serviceUrl, `28:${emulator.appId}`, now],
      );
    }
  });
}

async function emulatorStats(): Promise<{ throttled: number; throttledTenant: number; violations: number; sends: number }> {
  const body = (await (await fetch(`${emulator.url}/_emulator/stats`)).json()) as { global: Record<string, number> };
  const g = (k: string) => body.global[k] ?? -1;
  return { throttled: g("throttled"), throttledTenant: g("throttledTenant"), violations: g("violations"), sends: g("sends") };
}

/**
 * The ceiling held across the processes: no request sent during a Retry-After (no violation) and
 * at most 1 % of the sends answered 429 (see teamsRps: arrivals bunch on an oversubscribed
 * machine; with the buckets not shared the first test drew 204 × 429 for 900 sends).
 */
function expectCeilingHeld(stats: Awaited<ReturnType<typeof emulatorStats>>, sends: number): void {
  expect(stats.violations, JSON.stringify(stats)).toBe(0);
  expect(stats.throttled, JSON.stringify(stats)).toBeLessThanOrEqual(Math.ceil(sends / 100));
}

async function broadcast(users: readonly number[]): Promise<string> {
  await fetch(`${emulator.url}/_emulator/stats/reset`, { method: "POST" });
  const serve = live.serve;
  if (!serve) throw new Error("no serve process");
  const res = await fetch(`${serve.url}/v1/notifications`, {
    method: "POST",
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    body: JSON.stringify({
      audience: { conversations: users.map((u) => org.personalConversationId(u)) },
      message: { text: "Scale test ${givenName}" },
    }),
  });
  const json = (await res.json()) as { id?: string };
  expect(res.status, JSON.stringify(json)).toBe(202);
  return json.id ?? "";
}

async function counts(id: string): Promise<{ status: string; counts: Record<string, number>; total: number }> {
  const n = await store.deliveries.getNotification(id);
  if (!n) throw new Error(`no notification ${id}`);
  return { status: n.status, counts: n.counts as unknown as Record<string, number>, total: n.total };
}

async function leasedBy(owner: string): Promise<number> {
  return withPostgres(async (c) => {
    const r = await c.query<{ n: string }>(`select count(*) as n from "${schema}".deliveries where lease_owner = $1`, [owner]);
    return Number(r.rows[0]?.n);
  });
}

const allRows = (id: string) => allDeliveries(store, id);

const completed = (id: string, ms: number) =>
  until(
    `notification ${id} completed`,
    async () => {
      const c = await counts(id);
      return c.status === "completed" ? c : undefined;
    },
    ms,
  );

/** How many messages each user received, by the emulator's control API (50 requests at a time). */
async function received(users: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (let i = 0; i < users.length; i += 50)
    await Promise.all(
      users.slice(i, i + 50).map(async (u) => {
        const res = await fetch(
          `${emulator.url}/_emulator/conversations/${encodeURIComponent(org.personalConversationId(u))}/messages?limit=1`,
        );
        const body = (await res.json()) as { counts?: { received?: number } };
        out.set(u, body.counts?.received ?? 0);
      }),
    );
  return out;
}

const errors = () =>
  procs
    .map((p) => `--- ${p.name} (${p.kind}, pid ${p.pid}) ---\n${p.stderr().slice(-3000)}`)
    .join("\n")
    .slice(-12_000);

describe("one herald serve and two herald worker on PostgreSQL and Redis, Teams' limits on", () => {
  beforeAll(async () => {
    assertBuilt();
    const seed = randomInt(1, 2 ** 31);
    const spec = { tenants, users: tenants * (perTenant + 20), blockedShare: 0, uninstalledShare: 0 };
    org = new GeneratedOrg(seed, spec);
    emulator = await startEmulatorProcess(seed, [
      ...["--tenants", String(spec.tenants), "--users", String(spec.users)],
      ...["--blocked-share", "0", "--uninstalled-share", "0", "--message-cap", "100", "--tenant-rps", String(teamsRps)],
    ]);
    // A share of answers takes 120 ms, so requests are in flight when a process is stopped.
    const faults = await fetch(`${emulator.url}/_emulator/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ slow: 0.3, slowMs: 120 }),
    });
    expect(faults.status).toBe(200);
    for (const t of org.tenants) expect(t.userCount).toBeGreaterThanOrEqual(perTenant);
    store = await openStore(testPostgresUrl, { schema });
    await seedConversations(usersOf(0, perTenant));
    [live.serve, live.w1, live.w2] = await Promise.all([start("serve", "serve"), start("worker", "w1"), start("worker", "w2")]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop("SIGKILL")));
    await store?.close();
    await emulator?.stop();
    await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
  });

  it("a broadcast to two tenants is shared by the three processes, everyone gets it once, the ceiling holds (no violation, ≤ 1 % 429)", async () => {
    const users = usersOf(0, slices.shared);
    const running = [live.serve!, live.w1!, live.w2!];
    const before = await Promise.all(running.map((p) => p.sent()));
    const id = await broadcast(users);
    const done = await completed(id, 80_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${errors()}`);
    });
    expect(done.total).toBe(users.length);
    expect(done.counts["sent"]).toBe(users.length);
    const after = await Promise.all(running.map((p) => p.sent()));
    const did = after.map((n, i) => n - (before[i] ?? 0));
    // Each process sent some; together exactly the audience.
    for (const [i, n] of did.entries()) expect(n, `${running[i]?.name} sent ${n} of ${users.length}`).toBeGreaterThan(0);
    expect(did.reduce((a, b) => a + b, 0)).toBe(users.length);
    const got = await received(users);
    for (const u of users) expect(got.get(u), `user ${u}`).toBe(1);
    const stats = await emulatorStats();
    expect(stats.sends).toBe(users.length);
    expectCeilingHeld(stats, users.length);
  }, 120_000);

  it("SIGKILL of a worker mid-broadcast loses nothing: its in-flight sends end unknown, the others take over its rows within the lease time", async () => {
    const users = usersOf(slices.shared, slices.kill);
    const id = await broadcast(users);
    // Kill a worker once it holds rows and the broadcast is under way.
    const [key, held] = await until(
      "a worker holds rows",
      async () => {
        if (((await counts(id)).counts["sent"] ?? 0) < 100) return undefined;
        for (const k of ["w1", "w2"] as const) {
          const n = await leasedBy(live[k]!.workerId!);
          if (n > 0) return [k, n] as const;
        }
        return undefined;
      },
      30_000,
    );
    const victim = live[key]!;
    const victimId = victim.workerId!;
    await victim.stop("SIGKILL");
    const killedAt = Date.now();
    // A supervisor would start a new worker; it must not touch the rows of a worker that is not yet stale.
    live[key] = await start("worker", `${key}-after-kill`);
    const orphaned = await leasedBy(victimId);
    await until(
      "the dead worker's rows taken over",
      async () => ((await leasedBy(victimId)) === 0 ? true : undefined),
      staleMs + 2 * heartbeatMs + 10_000,
    );
    const takeover = Date.now() - killedAt;
    const done = await completed(id, 45_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${errors()}`);
    });
    expect(held).toBeGreaterThan(0);
    expect(orphaned).toBeGreaterThan(0);
    // Taken over after the lease time (the victim stays alive on paper until then), and not much later.
    expect(takeover).toBeLessThanOrEqual(staleMs + 2 * heartbeatMs + 10_000);
    expect(done.total).toBe(users.length);
    expect((done.counts["sent"] ?? 0) + (done.counts["unknown"] ?? 0)).toBe(users.length);
    const rows = await allRows(id);
    expect(rows).toHaveLength(users.length);
    const counted = await received(users);
    for (const r of rows) {
      const got = counted.get(org.personalConversationUser(r.conversationId ?? ""));
      if (r.status === "sent") expect(got, `${r.conversationId} sent`).toBe(1);
      else {
        expect(r.status, `${r.conversationId}`).toBe("unknown");
        expect(r.lastErrorCode).toBe("HERALD_E_IN_FLIGHT");
        expect(got, `${r.conversationId} unknown`).toBeLessThanOrEqual(1);
      }
    }
    expectCeilingHeld(await emulatorStats(), users.length);
  }, 120_000);

  it("rolling restart: serve, then each worker, stopped with SIGTERM and started again mid-broadcast; nothing lost, nothing sent twice", async () => {
    const users = usersOf(slices.shared + slices.kill, slices.rolling);
    const id = await broadcast(users);
    await until("the broadcast under way", async () => ((await counts(id)).counts["sent"]! >= 100 ? true : undefined), 30_000);
    const restarts: { name: string; code: number | null; sentBefore: number }[] = [];
    for (const key of ["serve", "w1", "w2"] as const) {
      const old = live[key]!;
      const sentBefore = (await counts(id)).counts["sent"] ?? 0;
      const exit = await old.stop("SIGTERM");
      restarts.push({ name: old.name, code: exit.code, sentBefore });
      live[key] = await start(old.kind, `${key}-restarted`);
    }
    const done = await completed(id, 80_000).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${errors()}`);
    });
    // Every stop was clean and happened while there was still something to send.
    for (const r of restarts) expect(r.code, `${r.name} exit code\n${errors()}`).toBe(0);
    expect(restarts.at(-1)!.sentBefore).toBeLessThan(users.length);
    expect(done.total).toBe(users.length);
    expect(done.counts["sent"]).toBe(users.length);
    expect(done.counts["unknown"]).toBe(0);
    const got = await received(users);
    for (const u of users) expect(got.get(u), `user ${u}`).toBe(1);
    const stats = await emulatorStats();
    expect(stats.sends).toBe(users.length);
    expectCeilingHeld(stats, users.length);
  }, 120_000);
});
