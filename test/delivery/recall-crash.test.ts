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
    emulator = await startEmulator({ tenantRps: 400, org: { tenants: 1, users: users.length, blockedShare: 0, uninstalledShare: 0 } });
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
    for (const i of users) {
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
    // Teams handles every send at once and holds its answer: the sender dies with all of them in flight.
    await faults("PUT", { deliverLate: 1, deliverLateMs: 20_000 });
    const a = await server("on");
    const posted = await a.api<{ id: string }>("POST", "/v1/notifications", {
      audience: { users: users.map((i) => emulator.org.user(i).id), tenantId: emulator.org.user(0).tenantId },
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
    // Every row is in flight, leased by the dead process.
    const inflight = await inflightOwners(stores, id);
    expect(inflight).toHaveLength(users.length);
    expect(new Set(inflight).size).toBe(1);

    const p = await server("off");
    const recalled = await p.api<View>("DELETE", `/v1/notifications/${id}`);
    expect(recalled.status).toBe(202);
    // Still in flight at the recall: not canceled, nothing to delete yet.
    expect(recalled.json).toMatchObject({ status: "canceled", counts: { pending: users.length, canceled: 0 }, recall: { pending: 0 } });
    const atRecall = received();
    expect(atRecall).toEqual(users.map(() => 1));
    await p.kill();
    expect(await inflightOwners(stores, id)).toEqual(inflight);

    await faults("DELETE");
    const b = await server("on");
    const end = Date.now() + 30_000;
    let done: View;
    for (;;) {
      done = (await b.api<View>("GET", `/v1/notifications/${id}`)).json;
      if (done.completedAt !== undefined && done.counts["pending"] === 0) break;
      if (Date.now() > end) throw new Error(`never finished; last ${JSON.stringify(done)}; log ${b.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await b.kill();
    // Nothing reached Teams after the DELETE was answered.
    expect(received()).toEqual(atRecall);
    expect(done).toMatchObject({ status: "canceled", counts: { pending: 0, sent: 0, unknown: users.length, canceled: 0 } });
    const reopened = await stores.open();
    const rows = await allDeliveries(reopened, id);
    await reopened.close();
    // Taken over by the recovery (its code), unknown: Teams may have them, and without an activity id the recall cannot delete them.
    expect(rows.map((r) => [r.status, r.lastErrorCode, r.activityId])).toEqual(users.map(() => ["unknown", "HERALD_E_IN_FLIGHT", undefined]));
    for (const r of rows) expect(r.lastErrorMessage).toMatch(/recalled meanwhile.*cannot delete/);
  }, 120_000);
});

/** The lease owners of the notification's rows in flight, read straight from the database (the Store does not show queues). */
async function inflightOwners(stores: StoreFactory, id: string): Promise<string[]> {
  const text = "select lease_owner from %deliveries where notification_id = $1 and queue = 'inflight' order by seq";
  if (stores.name === "postgres") {
    const schema = stores.options.schema ?? "public";
    const r = await withPostgres((c) => c.query<{ lease_owner: string }>(text.replace("%", `"${schema}".`), [id]));
    return r.rows.map((x) => x.lease_owner);
  }
  const db = new Database(stores.databaseUrl.slice("sqlite:".length), { readonly: true });
  try {
    const rows = db.prepare(text.replace("%", "").replace("$1", "?")).all(id) as { lease_owner: string }[];
    return rows.map((x) => x.lease_owner);
  } finally {
    db.close();
  }
}
