import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeEach, expect, it } from "vitest";
import { openPostgresStore } from "../../src/store/postgres/open.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";
import { startTcpProxy, type TcpProxy, viaProxy } from "../helpers/tcp-proxy.js";
import { addsUp, admin, finished, type Harness, request, startHarness } from "./helpers/harness.js";

/**
 * A broadcast on PostgreSQL whose link to the database breaks under it, through a proxy on
 * loopback: connections reset while the engine's statements wait for their answers, and a server
 * that stops answering altogether for longer than a query may wait. The process goes on, and
 * every recipient gets the message once.
 */
const schema = `herald_linkloss_${randomBytes(4).toString("hex")}`;
let proxy: TcpProxy;
let h: Harness | undefined;
const uncaught: unknown[] = [];
const onUncaught = (e: unknown) => uncaught.push(e);

beforeEach(async () => {
  const u = new URL(testPostgresUrl);
  proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
  process.on("uncaughtException", onUncaught);
});
afterEach(async () => {
  await h?.close();
  h = undefined;
  await proxy.close();
  process.off("uncaughtException", onUncaught);
  await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
});
afterAll(async () => {
  await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
});

async function broadcastThroughProxy(users: number, queryCheckMs?: number) {
  const store = await openPostgresStore(viaProxy(testPostgresUrl, proxy), { schema, queryCheckMs });
  h = await startHarness(store, { emulator: { org: { users } }, config: { maxInFlight: 4 } });
  const ids = Array.from({ length: users }, (_, i) => i);
  await h.seedUsers(ids);
  // Slow answers keep sends in flight while the link breaks.
  await fetch(`${h.emulator.url}/_emulator/faults`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ slow: 1, slowMs: 60 }),
  });
  const conversations = ids.map((i) => h!.emulator.org.personalConversationId(i));
  const { notification } = await h.engine.submit(request({ conversations }, { text: "through a broken link" }), admin);
  return { harness: h, ids, id: notification.id };
}

/** The broadcast finishes with every user's message sent once, nothing unknown or failed, and no uncaught error on the way. */
async function expectEveryoneOnce(harness: Harness, id: string, ids: readonly number[]): Promise<void> {
  const done = await harness.waitFor(id, finished, 40_000);
  expect(uncaught).toEqual([]);
  expect(done.counts).toMatchObject({ sent: ids.length, pending: 0, unknown: 0, failed: 0 });
  expect(addsUp(done)).toBe(true);
  for (const i of ids) expect(harness.received(i).received).toBe(1);
}

it("connections reset again and again under a broadcast: the process goes on, everyone gets the message once", async () => {
  const { harness, ids, id } = await broadcastThroughProxy(60);
  await harness.waitFor(id, (n) => n.counts.sent >= 5, 10_000);
  for (let i = 0; i < 6; i++) {
    // A reset after the engine's statements reached the proxy: they wait for their answers.
    proxy.freeze();
    const before = proxy.droppedFromClient;
    const end = Date.now() + 2_000;
    while (proxy.droppedFromClient === before && Date.now() < end) await new Promise((r) => setTimeout(r, 2));
    proxy.cut();
    proxy.thaw();
    await new Promise((r) => setTimeout(r, 150));
  }
  await expectEveryoneOnce(harness, id, ids);
}, 60_000);

it("a database that stops answering for longer than a query may wait: the engine goes on once it answers again, everyone once", async () => {
  const { harness, ids, id } = await broadcastThroughProxy(40, 1_000);
  await harness.waitFor(id, (n) => n.counts.sent >= 5, 10_000);
  const dropped = proxy.droppedFromClient;
  proxy.freeze();
  await new Promise((r) => setTimeout(r, 3_000));
  expect(proxy.droppedFromClient).toBeGreaterThan(dropped); // the engine's statements went unanswered
  proxy.thaw();
  await expectEveryoneOnce(harness, id, ids);
}, 60_000);
