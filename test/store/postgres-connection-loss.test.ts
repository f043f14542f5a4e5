import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, afterEach, beforeEach, expect, it } from "vitest";
import { healthRoutes } from "../../src/server/health.js";
import { guardedClient, type QueryCheck } from "../../src/store/postgres/guarded-client.js";
import { openPostgresStore } from "../../src/store/postgres/open.js";
import { until } from "../connector/helpers/servers.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";
import { startTcpProxy, type TcpProxy, viaProxy } from "../helpers/tcp-proxy.js";

/**
 * The store's connections to PostgreSQL when the link breaks, through a proxy on loopback:
 * a reset while a query waits for its answer, and a server that stops answering without one.
 */
const schema = `herald_connloss_${randomBytes(4).toString("hex")}`;
let proxy: TcpProxy;

beforeEach(async () => {
  const u = new URL(testPostgresUrl);
  proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
});
afterEach(async () => {
  await proxy.close();
});
afterAll(async () => {
  await withPostgres(async (c) => {
    await c.query(`drop schema if exists "${schema}" cascade`);
  });
});

const throughProxy = (): string => viaProxy(testPostgresUrl, proxy);

/**
 * A client of a pool of guarded clients (the store's connection class) on `url`, given to `body`
 * and then released, the pool ended. Queries in the promise form, as Kysely sends them (pg-pool's
 * own `pool.query` uses a callback, which is not checked).
 */
async function withGuardedClient(url: string, check: QueryCheck, body: (client: pg.PoolClient) => Promise<void>): Promise<void> {
  const pool = new pg.Pool({ connectionString: url, Client: guardedClient(check), max: 1 });
  try {
    const client = await pool.connect();
    try {
      await body(client);
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}

it("a reset while a query waits for its answer fails that call (the process goes on), and the store serves the next", async () => {
  // pg also emits the failure as an 'error' event on the connection: unheard, the process ended.
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on("uncaughtException", onUncaught);
  const store = await openPostgresStore(throughProxy(), { schema });
  try {
    await store.audit.list({ limit: 1 });
    proxy.freeze();
    const call = store.audit.list({ limit: 1 });
    // The reset comes after the query reached the proxy: it is out, waiting for its answer.
    await until(() => proxy.droppedFromClient > 0);
    proxy.cut();
    await expect(call).rejects.toThrow(/Connection terminated unexpectedly/);
    proxy.thaw();
    expect((await store.audit.list({ limit: 1 })).items).toEqual([]);
    expect(uncaught).toEqual([]);
  } finally {
    process.off("uncaughtException", onUncaught);
    await store.close();
  }
});

it("a query whose server stopped answering is given up after queryCheckMs and one check, saying so, and the store serves the next", async () => {
  const store = await openPostgresStore(throughProxy(), { schema, queryCheckMs: 1_000 });
  try {
    await store.audit.list({ limit: 1 });
    proxy.freeze();
    const started = Date.now();
    const call = store.audit.list({ limit: 1 });
    await expect(call).rejects.toThrow(/^PostgreSQL did not answer for 1 s and is not working on the query/);
    const took = Date.now() - started;
    expect(proxy.droppedFromClient).toBeGreaterThan(0);
    // One second, then a check that cannot reach the server within its 5 s.
    expect(took).toBeGreaterThanOrEqual(5_900);
    expect(took).toBeLessThan(10_000);
    proxy.thaw();
    expect((await store.audit.list({ limit: 1 })).items).toEqual([]);
  } finally {
    await store.close();
  }
}, 20_000);

it("a long statement the server is running is left to finish: the check finds it at work", async () => {
  await withGuardedClient(testPostgresUrl, { ms: 300 }, async (client) => {
    const started = Date.now();
    const { rows } = await client.query("select pg_sleep(1.5), 42 as answer");
    expect(rows[0].answer).toBe(42);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
  });
});

it("/readyz answers 503 within its bound while the database does not answer, and 200 once it does", async () => {
  const store = await openPostgresStore(throughProxy(), { schema });
  const app = healthRoutes(store, undefined, 500);
  try {
    expect((await app.request("/readyz")).status).toBe(200);
    proxy.freeze();
    const started = Date.now();
    const res = await app.request("/readyz");
    const took = Date.now() - started;
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: "not ready",
      error: { code: "HERALD_E_NOT_READY", message: "The store did not answer within 0.5 s." },
    });
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(3_000);
    proxy.thaw();
    proxy.cut(); // the connection whose query was dropped: the pool opens a new one
    let status = 0;
    const end = Date.now() + 10_000;
    while (status !== 200 && Date.now() < end) status = (await app.request("/readyz")).status;
    expect(status).toBe(200);
  } finally {
    await store.close();
  }
}, 20_000);

it("after a query is given up, the client's later queries (a transaction's ROLLBACK) fail with the same error, not pg's 'not queryable'", async () => {
  const pool = new pg.Pool({ connectionString: throughProxy(), Client: guardedClient({ ms: 300, boundMs: 500 }), max: 2 });
  try {
    const client = await pool.connect();
    await client.query("begin");
    proxy.freeze();
    const given = await client.query("select 1").then(
      () => undefined,
      (e: Error) => e,
    );
    expect(given?.message).toMatch(/^PostgreSQL did not answer for 0.3 s and is not working on the query/);
    const rollback = await client.query("rollback").then(
      () => undefined,
      (e: Error) => e,
    );
    expect(rollback).toBe(given);
    client.release();
    proxy.thaw();
    // The pool dropped that client: the next one works.
    const next = await pool.connect();
    expect((await next.query("select 2 as two")).rows[0].two).toBe(2);
    next.release();
  } finally {
    await pool.end();
  }
});

it("a query is not given up while its answer is still arriving (a large result on a slow link)", async () => {
  // A check after 1 s: the bytes come every 50 ms, so only an event-loop stall of a second could look like silence.
  await withGuardedClient(throughProxy(), { ms: 1_000 }, async (client) => {
    proxy.throttle(1_000_000);
    // About 3 MB at 1 MB/s: the server is done (idle) long before the answer is read.
    const { rows } = await client.query("select length(repeat('x', 3000000)) as n, repeat('x', 3000000) as big");
    expect(rows[0].n).toBe(3_000_000);
  });
}, 20_000);

it("a server that refuses the check's connection (a role's connection limit) is busy, not gone: the query goes on", async () => {
  const role = `herald_connlimit_${randomBytes(4).toString("hex")}`;
  await withPostgres(async (c) => {
    await c.query(`create role ${role} login connection limit 1`);
  });
  const u = new URL(testPostgresUrl);
  u.username = role;
  try {
    await withGuardedClient(u.toString(), { ms: 300 }, async (client) => {
      const { rows } = await client.query("select pg_sleep(1.2), 7 as seven");
      expect(rows[0].seven).toBe(7);
    });
  } finally {
    await withPostgres((c) => c.query(`drop role if exists ${role}`));
  }
});
