import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { InFlightPolicy } from "../../src/delivery/model.js";
import { type EmulatorHandle, startEmulator } from "../../src/emulator/index.js";
import type { Store } from "../../src/store/ports.js";
import { allDeliveries, forEachStore } from "../helpers/stores.js";
import { type ServerProcess, startServer } from "./helpers/child.js";

interface View {
  id: string;
  status: string;
  total: number;
  expanding: boolean;
  counts: Record<string, number>;
}

const apiKey = "crash-test-key-0123456789";
const users = 600;

/**
 * kill -9 at any moment loses nothing: a server process is killed with SIGKILL twice while a
 * broadcast runs (once while its audience is still being expanded, once mid-sending), and a
 * third one finishes it. Every recipient then got the message exactly once, or is reported
 * `unknown` (the send was in flight when the process died) and got it at most once.
 */
forEachStore((stores) => {
  let store: Store;
  let emulator: EmulatorHandle;
  const running: ServerProcess[] = [];

  beforeAll(async () => {
    store = await stores.open();
    // Slow answers keep requests in flight, so kills catch some.
    emulator = await startEmulator({
      tenantRps: 400,
      org: { tenants: 2, users: users * 2, blockedShare: 0, uninstalledShare: 0 },
      faults: { slow: 0.3, slowMs: 150 },
    });
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.kill()));
  });
  afterAll(async () => {
    await emulator.close();
  });

  const env = (policy: InFlightPolicy): Record<string, string> => ({
    DB_URL: stores.databaseUrl,
    DB_SCHEMA: stores.options.schema ?? "",
    CONNECTOR_TOKEN_URL: emulator.tokenUrl,
    APP_ID: emulator.appId,
    TENANT_RPS: "400",
    IN_FLIGHT_POLICY: policy,
  });
  const server = async (policy: InFlightPolicy) => {
    const s = await startServer(env(policy), apiKey);
    running.push(s);
    return s;
  };
  const until = async (s: ServerProcess, id: string, ok: (v: View) => boolean, timeoutMs: number): Promise<View> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { json } = await s.api<View>("GET", `/v1/notifications/${id}`);
      if (ok(json)) return json;
      if (Date.now() > deadline) throw new Error(`timed out; last ${JSON.stringify(json)}; server log: ${s.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const seed = async (first: number) => {
    const at = new Date().toISOString();
    for (let i = first; i < first + users; i++) {
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
  };
  const allRows = (id: string) => allDeliveries(store, id);

  const crashTwice = async (policy: InFlightPolicy, first: number) => {
    await seed(first);
    // A SQLite file belongs to one process: this one lets go of it while the servers run.
    await store.close();
    const tenantId = emulator.org.user(first).tenantId;
    const a = await server(policy);
    const posted = await a.api<{ id: string }>("POST", "/v1/notifications", {
      audience: { all: true, tenantId },
      message: { text: "Hello ${givenName}" },
    });
    expect(posted.status).toBe(202);
    const id = posted.json.id;
    // Kill 1: right after the 202, while the audience is being expanded (pages of 50) and the first sends go.
    await until(a, id, (v) => v.total > 0, 10_000);
    await a.kill();
    const b = await server(policy);
    // Kill 2: mid-sending.
    await until(b, id, (v) => v.counts["sent"]! >= 250, 30_000);
    await b.kill();
    const c = await server(policy);
    const done = await until(c, id, (v) => v.status === "completed", 60_000);
    await c.kill();
    store = await stores.open();
    const rows = await allRows(id);
    return { done, rows };
  };

  it("in-flight sends become unknown: every recipient got the message exactly once, or is unknown and got it at most once", async () => {
    const first = 0;
    const { done, rows } = await crashTwice("unknown", first);
    expect(done.total).toBe(users);
    expect(done.expanding).toBe(false);
    expect(Object.values(done.counts).reduce((x, y) => x + y, 0)).toBe(users);
    expect(done.counts["sent"]! + done.counts["unknown"]!).toBe(users);
    expect(rows).toHaveLength(users);
    for (const r of rows) {
      const user = emulator.org.personalConversationUser(r.conversationId ?? "");
      const got = emulator.context.counts.get(user).received;
      if (r.status === "sent") expect(got, `${r.conversationId} sent`).toBe(1);
      else {
        expect(r.status).toBe("unknown");
        expect(got, `${r.conversationId} unknown`).toBeLessThanOrEqual(1);
      }
    }
  }, 120_000);

  it("with HERALD_IN_FLIGHT_POLICY=resend, in-flight sends go again: everyone got it at least once, duplicates only where a send was in flight", async () => {
    const first = users;
    const { done, rows } = await crashTwice("resend", first);
    expect(done.counts["sent"]).toBe(users);
    expect(done.counts["unknown"]).toBe(0);
    let duplicated = 0;
    for (const r of rows) {
      const got = emulator.context.counts.get(emulator.org.personalConversationUser(r.conversationId ?? "")).received;
      expect(got).toBeGreaterThanOrEqual(1);
      expect(got).toBeLessThanOrEqual(3);
      if (got > 1) duplicated++;
    }
    // Only sends in flight at one of the two kills can have gone twice: at most the requests in flight then.
    expect(duplicated).toBeLessThanOrEqual(2 * 64);
  }, 120_000);
});
