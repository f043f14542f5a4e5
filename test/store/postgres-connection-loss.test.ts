import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeEach, expect, it } from "vitest";
import { healthRoutes } from "../../src/server/health.js";
import { openPostgresStore } from "../../src/store/postgres/open.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

/**
 * The store's connections to PostgreSQL when the link breaks, through a proxy on loopback:
 * a reset while a query waits for its answer, and a server that stops answering without one.
 */
const schema = `herald_connloss_${randomBytes(4).toString("hex")}`;
const fresh = `${schema}_fresh`;
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
    await c.query(`drop schema if exists "${fresh}" cascade`);
  });
});

function throughProxy(): string {
  const u = new URL(testPostgresUrl);
  u.hostname = "127.0.0.1";
  u.port = String(proxy.port);
  return u.toString();
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
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

it("a query that gets no answer fails after queryTimeoutMs, saying so, and the store serves the next", async () => {
  const store = await openPostgresStore(throughProxy(), { schema, queryTimeoutMs: 1_000 });
  try {
    await store.audit.list({ limit: 1 });
    proxy.freeze();
    const started = Date.now();
    const call = store.audit.list({ limit: 1 });
    await expect(call).rejects.toThrow(/^PostgreSQL did not answer within 1 s; Herald closed the connection/);
    const took = Date.now() - started;
    expect(proxy.droppedFromClient).toBeGreaterThan(0);
    expect(took).toBeGreaterThanOrEqual(950);
    expect(took).toBeLessThan(4_000);
    proxy.thaw();
    expect((await store.audit.list({ limit: 1 })).items).toEqual([]);
  } finally {
    await store.close();
  }
}, 15_000);

it("the migrations at open are not bounded: a fresh schema opens with a 1 ms bound", async () => {
  const store = await openPostgresStore(throughProxy(), { schema: fresh, queryTimeoutMs: 1 });
  await store.close();
  const tables = await withPostgres(
    async (c) => (await c.query("select count(*)::int as n from information_schema.tables where table_schema = $1", [fresh])).rows[0].n,
  );
  expect(tables).toBeGreaterThan(20);
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
