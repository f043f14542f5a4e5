import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { type EmulatorHandle, startEmulator } from "../../src/emulator/index.js";
import { allDeliveries, forEachStore, type StoreFactory, withPostgres } from "../helpers/stores.js";
import { type ServerProcess, startServer } from "./helpers/child.js";

interface View {
  id: string;
  status: string;
  total: number;
  counts: Record<string, number>;
  completedAt?: string;
  recall?: { pending: number; done: number; failed: number };
}

const apiKey = "recall-crash-key-0123456789";
const users = [0, 1, 2, 3, 4, 5];
/** The user of the warm-up message. */
const warm = users.length;

/**
 * Review: a notification recalled while a dead process's sends were in flight, taken over under
 * HERALD_IN_FLIGHT_POLICY=resend. Real processes (test/delivery/fixtures/serve.ts) killed with
 * SIGKILL, the emulator over HTTP. Teams has every send (the emulator handled them and holds its
 * answers) when the sender dies; the DELETE is answered by a process that does not send (the
 * engine off: no recovery can run before it); then a sending process takes the dead one's rows
 * over. Nothing may reach Teams after the DELETE was answered, and the rows end `unknown` (they
 * may have been received; no activity id, so the recall says it cannot delete them), never
 * sent again.
 */
forEachStore((stores) => {
  let emulator: EmulatorHandle;
  const running: ServerProcess[] = [];

  beforeAll(async () => {
    emulator = await startEmulator({ tenantRps: 400, org: { tenants: 1, users: users.length + 1, blockedShare: 0, uninstalledShare: 0 } });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.kill()));
  });
  afterAll(async () => {
    await emulator.close();
  });

  const server = async (engine: "on" | "off") => {
    const s = await startServer(
      {
        DB_URL: stores.databaseUrl,
        DB_SCHEMA: stores.options.schema ?? "",
        CONNECTOR_TOKEN_URL: emulator.tokenUrl,
        APP_ID: emulator.appId,
        TENANT_RPS: "400",
        IN_FLIGHT_POLICY: "resend",
        ENGINE: engine,
      },
      apiKey,
    );
    running.push(s);
    return s;
  };
  const faults = async (method: "PUT" | "DELETE", body?: unknown) => {
    const r = await fetch(`${emulator.url}/_emulator/faults`, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    expect(r.ok).toBe(true);
  };
  const received = () => users.map((i) => emulator.context.counts.get(i).received);

  it("HERALD_IN_FLIGHT_POLICY=resend: a dead process's in-flight sends of a notification recalled meanwhile are taken over as unknown, never sent after the DELETE", async () => {
    const store = await stores.open();
    const at = new Date().toISOString();
    for (const i of [...users, warm]) {
      const u = emulator.org.user(i);
      await store.conversations.upsert({
        id: emulator.org.personalConversationId(i),
        kind: "personal",
        tenantId: u.tenantId,
        serviceUrl: emulator.connectorUrl,
        channelId: "msteams",
        bot: { id: `28:${emulator.appId}` },
        user: { id: u.id, name: u.name },
        at,
        status: "active",
      });
    }
    // A SQLite file belongs to one process: this one lets go of it while the servers run.
    await store.close();
    const a = await server("on");
    // A process's first send goes alone until it is answered (warmup.ts): one to another user first.
    const tenantId = emulator.org.user(0).tenantId;
    const first = await a.api<{ id: string }>("POST", "/v1/notifications", {
      audience: { users: [emulator.org.user(warm).id], tenantId },
      message: { text: "warm-up" },
    });
    expect(first.status).toBe(202);
    const warmDeadline = Date.now() + 30_000;
    while ((await a.api<View>("GET", `/v1/notifications/${first.json.id}`)).json.counts["sent"] !== 1) {
      if (Date.now() > warmDeadline) throw new Error(`the warm-up message was never sent: ${a.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Teams handles every send at once and holds its answer: the sender dies with all of them in flight.
    await faults("PUT", { deliverLate: 1, deliverLateMs: 20_000 });
    const posted = await a.api<{ id: string }>("POST", "/v1/notifications", {
      audience: { users: users.map((i) => emulator.org.user(i).id), tenantId },
      message: { text: "recalled while in flight" },
    });
    expect(posted.status).toBe(202);
    const id = posted.json.id;
    const deadline = Date.now() + 30_000;
    while (received().some((n) => n < 1)) {
      if (Date.now() > deadline) throw new Error(`the sends never reached the emulator: ${a.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await a.kill();
    // Every send in flight at the kill (Teams has them all), leased by the dead process.
    const inflight = await inflightRows(stores, id);
    expect(inflight.map((r) => r.seq)).toEqual(users.map((_, k) => k));
    expect(new Set(inflight.map((r) => r.owner)).size).toBe(1);

    const p = await server("off");
    const recalled = await p.api<View>("DELETE", `/v1/notifications/${id}`);
    expect(recalled.status).toBe(202);
    // Still in flight at the recall: not canceled; only a copy answered before is to delete.
    expect(recalled.json).toMatchObject({
      status: "canceled",
      counts: { pending: inflight.length, canceled: 0 },
      recall: { pending: 0 },
    });
    const atRecall = received();
    expect(atRecall).toEqual(users.map(() => 1));
    await p.kill();
    expect(await inflightRows(stores, id)).toEqual(inflight);

    await faults("DELETE");
    const b = await server("on");
    const end = Date.now() + 30_000;
    let done: View;
    for (;;) {
      done = (await b.api<View>("GET", `/v1/notifications/${id}`)).json;
      if (done.completedAt !== undefined && done.counts["pending"] === 0 && done.recall?.pending === 0) break;
      if (Date.now() > end) throw new Error(`never finished; last ${JSON.stringify(done)}; log ${b.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await b.kill();
    // Nothing reached Teams after the DELETE was answered.
    expect(received()).toEqual(atRecall);
    expect(done).toMatchObject({
      status: "canceled",
      counts: { pending: 0, sent: 0, unknown: users.length, canceled: 0 },
      recall: { pending: 0, done: 0, failed: 0 },
    });
    const reopened = await stores.open();
    const rows = await allDeliveries(reopened, id);
    await reopened.close();
    // Taken over by the recovery (its code), unknown: Teams may have them, and without an activity id the recall cannot delete them.
    expect(rows.map((r) => [r.status, r.lastErrorCode, r.activityId])).toEqual(
      users.map(() => ["unknown", "HERALD_E_IN_FLIGHT", undefined]),
    );
    for (const r of rows) expect(r.lastErrorMessage).toMatch(/recalled meanwhile.*cannot delete/);
  }, 120_000);
});

/** The notification's rows in flight and their lease owners, read straight from the database (the Store does not show queues). */
async function inflightRows(stores: StoreFactory, id: string): Promise<{ seq: number; owner: string }[]> {
  const text = "select seq, lease_owner from %deliveries where notification_id = $1 and queue = 'inflight' order by seq";
  const rows =
    stores.name === "postgres"
      ? (
          await withPostgres((c) =>
            c.query<{ seq: string | number; lease_owner: string }>(text.replace("%", `"${stores.options.schema ?? "public"}".`), [id]),
          )
        ).rows
      : readSqlite(stores.databaseUrl.slice("sqlite:".length), text.replace("%", "").replace("$1", "?"), id);
  return rows.map((r) => ({ seq: Number(r.seq), owner: r.lease_owner }));
}

function readSqlite(file: string, text: string, id: string): { seq: number; lease_owner: string }[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(text).all(id) as { seq: number; lease_owner: string }[];
  } finally {
    db.close();
  }
}
