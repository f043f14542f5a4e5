import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { alice, personalConversation, personalInstall, personalMessage } from "../helpers/activities.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * Property-based fuzzing of every input Herald parses: inbound activities and every API body.
 * Whatever arrives, the answer is never a 5xx, the process stays up, and a rejected input
 * leaves nothing stored.
 */
const KEY = "fuzz-admin-key-0123456789abcdef";
const stores = createStoreFactory("sqlite");
let herald: Herald;
/** A Connector that accepts every reply at once, so the handler's background work (welcomes, answers) drains fast. */
let connector: Server;
let connectorUrl = "";

beforeAll(async () => {
  connector = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end('{"id":"1"}'));
  });
  connector.listen(0, "127.0.0.1");
  await once(connector, "listening");
  connectorUrl = `http://127.0.0.1:${(connector.address() as AddressInfo).port}/teams/`;
  const config = loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_API_KEY: KEY, HERALD_TRUSTED_HOSTS: "127.0.0.1" });
  // The engine is off: the fuzzer checks parsing and storage, not sending. Rate-limit windows are
  // 1000 times shorter so replies to the fuzzer's valid messages never wait for a bucket.
  herald = await createHerald(config, { logger: silentLogger, store: await stores.open(), engine: false, delivery: { timeScale: 1000 } });
});
afterAll(async () => {
  reader?.close();
  await herald?.close();
  connector?.closeAllConnections();
  connector?.close();
  await stores.cleanup();
});

async function post(path: string, body: string, method = "POST"): Promise<number> {
  const res = await herald.fetch(
    new Request(`http://herald.test${path}`, {
      method,
      headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
      body,
    }),
  );
  await res.arrayBuffer();
  return res.status;
}

/**
 * Every row of every table (conversations with all their fields, preferences, notifications,
 * deliveries, keys, audit), read through a second connection to the SQLite file: a rejected
 * activity that changed one field of an existing conversation shows here, where a row count
 * would not.
 */
function storeState(): string {
  reader ??= new Database(stores.databaseUrl.slice("sqlite:".length), { readonly: true, fileMustExist: true });
  const db = reader;
  const tables = db
    .prepare(
      "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name <> 'herald_migrations' order by name",
    )
    .all() as { name: string }[];
  const state: Record<string, unknown[]> = {};
  // Each statement reads the latest commit (WAL, autocommit).
  for (const { name } of tables) state[name] = db.prepare(`select * from "${name}" order by rowid`).all();
  return JSON.stringify(state);
}
let reader: Database.Database | undefined;

/** What the generator expects of an activity: decided when it is made, never by Herald's own code. */
type Expected = "refuse" | "ignore" | "accept" | "any";
interface Case {
  body: unknown;
  expected: Expected;
  /** Which mutation made it (for the failure message and the per-kind counts). */
  kind: string;
}

/**
 * Valid activities (about alice, whose chat is stored) with fields replaced by arbitrary values,
 * dropped or added (`any`: only "no 5xx, and nothing stored when refused"); and valid activities
 * with one pointed change, each tagged with the outcome it must have: an untrusted serviceUrl is
 * refused (403); another Bot Framework channel or no tenant is ignored (200, counted `ignored`,
 * nothing stored); the seed itself, with a new text, is accepted (200, counted `ok`).
 */
function mutatedActivity(): fc.Arbitrary<Case> {
  const seeds = [personalInstall(alice)[0], personalInstall(alice)[1], personalMessage(alice, "help")].map((a) => ({
    ...a,
    serviceUrl: connectorUrl,
  }));
  const noTenant = { id: personalConversation(alice)["id"], conversationType: "personal" };
  const untrusted = fc.oneof(
    fc.constantFrom("https://evil.example.com/teams/", "http://10.0.0.1/", "https://smba.trafficmanager.net.evil.example/"),
    fc.webPath().map((path) => `https://attacker.example.org${path}`),
  );
  const pointed = (kind: string, expected: Expected, change: fc.Arbitrary<Record<string, unknown>>) =>
    fc.tuple(fc.constantFrom(...seeds), change).map(([seed, c]): Case => ({ body: { ...structuredClone(seed), ...c }, expected, kind }));
  const arbitrary = fc
    .tuple(
      fc.constantFrom(...seeds),
      fc.array(
        fc.tuple(
          fc.constantFrom(
            "type",
            "serviceUrl",
            "channelId",
            "from",
            "recipient",
            "conversation",
            "channelData",
            "membersAdded",
            "entities",
            "text",
            "action",
            "value",
            "localTimezone",
          ),
          fc.jsonValue(),
        ),
        { maxLength: 4 },
      ),
      fc.array(fc.constantFrom("type", "serviceUrl", "from", "recipient", "conversation", "channelId"), { maxLength: 2 }),
    )
    .map(([seed, replace, drop]): Case => {
      const a: Record<string, unknown> = structuredClone(seed);
      for (const [k, v] of replace) a[k] = v;
      for (const k of drop) delete a[k];
      return { body: a, expected: "any", kind: "arbitrary" };
    });
  return fc.oneof(
    pointed("untrusted serviceUrl", "refuse", fc.record({ serviceUrl: untrusted })),
    pointed("not Teams", "ignore", fc.record({ channelId: fc.constantFrom("webchat", "directline", "emulator", "slack") })),
    pointed(
      "no tenant",
      "ignore",
      fc.record({ conversation: fc.constant(noTenant), channelData: fc.constantFrom({}, { tenant: {} }, { tenant: { id: "" } }) }),
    ),
    pointed("valid", "accept", fc.record({ text: fc.string({ maxLength: 40 }).map((t) => `hello ${t}`) })),
    arbitrary,
  );
}

/** herald_inbound_activities_total summed over activity types, for one result. */
function inboundCount(result: string): number {
  let sum = 0;
  for (const { labels, value } of herald.metrics.inbound.values()) if (labels["result"] === result) sum += value;
  return sum;
}

describe("inbound activities", () => {
  it("never answer 5xx; each pointed mutation has the outcome it was made for; a refused or ignored one changes nothing", async () => {
    // Alice's chat exists (and she opted out), so a refused activity about her could change it.
    for (const a of [...personalInstall(alice), personalMessage(alice, "stop")])
      expect(await post("/api/messages", JSON.stringify({ ...a, serviceUrl: connectorUrl }))).toBe(200);
    await herald.handler.drain();
    expect(storeState()).toContain('"opted_out":1');
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue().map((body): Case => ({ body, expected: "any", kind: "json" })),
          mutatedActivity(),
        ),
        async (c) => {
          const before = storeState();
          const ignoredBefore = inboundCount("ignored");
          const okBefore = inboundCount("ok");
          const status = await post("/api/messages", JSON.stringify(c.body));
          await herald.handler.drain();
          const why = `${c.kind}: ${JSON.stringify(c.body).slice(0, 300)}`;
          expect(status, why).toBeLessThan(500);
          seen.set(c.kind, (seen.get(c.kind) ?? 0) + 1);
          switch (c.expected) {
            case "refuse":
              expect(status, why).toBe(403);
              expect(storeState(), why).toBe(before);
              break;
            case "ignore":
              expect(status, why).toBe(200);
              expect(inboundCount("ignored") - ignoredBefore, why).toBe(1);
              expect(storeState(), why).toBe(before);
              break;
            case "accept":
              expect(status, why).toBe(200);
              expect(inboundCount("ok") - okBefore, why).toBe(1);
              break;
            case "any":
              if (status >= 400) expect(storeState(), why).toBe(before);
          }
        },
      ),
      { numRuns: 300 },
    );
    // Every kind of mutation ran often enough to mean something (about 48 of each in 300 runs).
    for (const kind of ["untrusted serviceUrl", "not Teams", "no tenant", "valid", "arbitrary"])
      expect(seen.get(kind) ?? 0, kind).toBeGreaterThan(15);
  }, 60_000);

  it("never answer 5xx to bytes that are not JSON", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", maxLength: 400 }), async (text) => {
        expect(await post("/api/messages", text)).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
  });
});

describe("API bodies", () => {
  const sampleNotification = { audience: { conversations: ["a:x"] }, message: { text: "hi" } };
  const bodies = fc.oneof(
    fc.jsonValue(),
    fc.record({ audience: fc.jsonValue(), message: fc.jsonValue() }, { requiredKeys: [] }),
    fc
      .tuple(fc.constantFrom("audience", "message", "schedule", "idempotencyKey", "category", "extra"), fc.jsonValue())
      .map(([k, v]) => ({ ...sampleNotification, [k]: v })),
    fc.record({
      message: fc.record(
        { text: fc.jsonValue(), card: fc.jsonValue(), textFormat: fc.jsonValue(), summary: fc.jsonValue(), alert: fc.jsonValue() },
        { requiredKeys: [] },
      ),
    }),
  );

  it.each([
    ["POST", "/v1/notifications"],
    ["POST", "/v1/keys"],
  ])("%s %s never answers 5xx", async (method, path) => {
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        expect(await post(path, JSON.stringify(body), method)).toBeLessThan(500);
      }),
      { numRuns: 200 },
    );
  });

  it("query strings never cause a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.constantFrom("kind", "tenantId", "status", "cursor", "limit", "format", "x"), fc.string({ maxLength: 30 })),
        async (q) => {
          for (const path of ["/v1/conversations", "/v1/reports/blocked", "/v1/notifications", "/v1/audit"]) {
            const res = await herald.fetch(
              new Request(`http://herald.test${path}?${new URLSearchParams(q)}`, { headers: { authorization: `Bearer ${KEY}` } }),
            );
            await res.arrayBuffer();
            expect(res.status, path).toBeLessThan(500);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

/**
 * PATCH on a notification that was SENT (so the edit logic runs: schema, templates, size, the
 * edit of every sent copy), with fuzzed bodies: never a 5xx, and a refused body leaves the
 * notification (record, message, counters, every delivery row) exactly as it was. Runs its own
 * Herald with the engine on, sending to the stub Connector.
 */
describe("PATCH of a sent notification", () => {
  const editStores = createStoreFactory("sqlite");
  let sender: Herald;
  let id = "";
  /** The per-key limit (burst 100) would answer 429 before any logic: cases rotate over several keys. */
  const keys: string[] = [KEY];

  beforeAll(async () => {
    const config = loadConfig({
      HERALD_INBOUND_AUTH: "off",
      HERALD_API_KEY: KEY,
      HERALD_TRUSTED_HOSTS: "127.0.0.1",
      HERALD_TENANT_RPS: "0",
    });
    sender = await createHerald(config, { logger: silentLogger, store: await editStores.open(), delivery: { timeScale: 1000 } });
    const ids = ["a:one", "a:two", "a:three"];
    for (const [i, conv] of ids.entries()) {
      await sender.store.conversations.upsert({
        id: conv,
        kind: "personal",
        tenantId: "tenant-1",
        serviceUrl: connectorUrl,
        channelId: "msteams",
        bot: { id: "28:bot" },
        user: { id: `29:user-${i}`, name: `User ${i}` },
        at: new Date().toISOString(),
        status: "active",
      });
    }
    const res = await sender.fetch(
      new Request("http://herald.test/v1/notifications", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ audience: { conversations: ids }, message: { text: "Hello ${name}" } }),
      }),
    );
    expect(res.status).toBe(202);
    id = ((await res.json()) as { id: string }).id;
    for (let i = 0; i < 3; i++) {
      const created = await sender.fetch(
        new Request("http://herald.test/v1/keys", {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${KEY}` },
          body: JSON.stringify({ name: `fuzz-${i}`, scopes: ["send"] }),
        }),
      );
      keys.push(((await created.json()) as { key: string }).key);
    }
    await settled((n) => n.status === "completed" && n.counts.sent === 3);
  });
  afterAll(async () => {
    await sender?.close();
    await editStores.cleanup();
  });

  /** Wait (deadline 10 s) until the notification matches `done`, e.g. every copy edited. */
  async function settled(done: (n: NonNullable<Awaited<ReturnType<Herald["engine"]["get"]>>>) => boolean) {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const n = await sender.engine.get(id);
      if (n && done(n)) return n;
      if (Date.now() > deadline) throw new Error(`notification ${id} did not settle: ${JSON.stringify(n)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Everything Herald keeps about the notification: its record (message, version, counters) and every delivery row. */
  async function fullState(): Promise<string> {
    const n = await sender.store.deliveries.getNotification(id);
    const rows = await sender.store.deliveries.listDeliveries(id, {}, { limit: 1_000 });
    return JSON.stringify({ n, rows: rows.items });
  }

  const texty = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.constantFrom("Hi ${name}", "Hi ${givenName}!", "${", "${name", "${nope.deeper}", "${foo(}", "   ", "x".repeat(40_000)),
    fc.jsonValue(),
  );
  const card = fc.oneof(
    fc.jsonValue(),
    fc.record(
      {
        type: fc.constantFrom("AdaptiveCard", "Card"),
        version: fc.constantFrom("1.5", "1.2", "9", "x"),
        $schema: fc.constant("http://adaptivecards.io/schemas/adaptive-card.json"),
        body: fc.array(fc.record({ type: fc.constantFrom("TextBlock", "Image", "Nope"), text: texty }, { requiredKeys: ["type"] }), {
          maxLength: 3,
        }),
      },
      { requiredKeys: ["type", "version"] },
    ),
  );
  // Mostly near-valid messages, so most cases get past the schema into the edit logic.
  const plausible = fc.record({
    message: fc.record(
      {
        text: fc.oneof(
          fc.string({ minLength: 1, maxLength: 40 }),
          fc.constantFrom("Hi ${name}", "Hi ${givenName}!", "${", "${name", "${nope.deeper}", "${foo(}", "x".repeat(40_000)),
        ),
        textFormat: fc.constantFrom("markdown", "plain"),
        summary: fc.string({ minLength: 1, maxLength: 20 }),
        alert: fc.boolean(),
      },
      { requiredKeys: ["text"] },
    ),
  });
  const editBodies = fc.oneof(
    { arbitrary: plausible, weight: 4 },
    fc.jsonValue(),
    fc.record({ message: fc.jsonValue() }),
    fc.record({
      message: fc.record(
        {
          text: texty,
          card,
          textFormat: fc.oneof(fc.constantFrom("markdown", "plain", "xml"), fc.jsonValue()),
          summary: texty,
          alert: fc.oneof(fc.boolean(), fc.jsonValue()),
        },
        { requiredKeys: [] },
      ),
    }),
    fc.record({ message: fc.record({ text: texty }), extra: fc.jsonValue() }, { requiredKeys: ["message"] }),
  );

  it("never answers 5xx, refuses bad bodies without changing anything, and reaches the edit logic", async () => {
    const outcomes = new Map<string, number>();
    let run = 0;
    await fc.assert(
      fc.asyncProperty(editBodies, async (body) => {
        const before = await fullState();
        const res = await sender.fetch(
          new Request(`http://herald.test/v1/notifications/${id}`, {
            method: "PATCH",
            headers: { "content-type": "application/json", authorization: `Bearer ${keys[run++ % keys.length]}` },
            body: JSON.stringify(body),
          }),
        );
        const answer = (await res.json()) as { error?: { code: string }; messageVersion?: number };
        const outcome = `${res.status} ${answer.error?.code ?? ""}`.trim();
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        expect(res.status, JSON.stringify(answer)).toBeLessThan(500);
        if (res.status >= 400) {
          expect(await fullState()).toBe(before);
        } else {
          expect(res.status).toBe(202);
          // Every sent copy is edited before the next case, so the next "before" is at rest.
          const version = answer.messageVersion ?? 0;
          await settled((n) => n.messageVersion === version && n.edit.pending === 0);
        }
      }),
      { numRuns: 150 },
    );
    // Past the schema: accepted edits, and refusals only the edit logic can give (templates, size).
    const summary = JSON.stringify(Object.fromEntries(outcomes));
    expect(outcomes.get("202") ?? 0, summary).toBeGreaterThan(20);
    expect(outcomes.get("429 HERALD_E_RATE_LIMITED") ?? 0, summary).toBe(0);
    expect((outcomes.get("400 HERALD_E_TEMPLATE") ?? 0) + (outcomes.get("413 HERALD_E_MESSAGE_TOO_LARGE") ?? 0), summary).toBeGreaterThan(
      3,
    );
    const edited = await sender.engine.get(id);
    expect(edited?.edit.failed, "every accepted edit reached the sent copies").toBe(0);
    expect(edited?.edit.done).toBe(3);
  });
});
