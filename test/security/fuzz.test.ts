import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { alice, personalInstall, personalMessage } from "../helpers/activities.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * Property-based fuzzing of every input Herald parses: inbound activities and every API body.
 * Whatever arrives, the answer is never a 5xx, the process stays up, and a rejected input
 * leaves nothing stored.
 */
const KEY = "fuzz-admin-key-0123456789abcdef";
const stores = createStoreFactory("sqlite");
let herald: Herald;

beforeAll(async () => {
  const config = loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_API_KEY: KEY, HERALD_TRUSTED_HOSTS: "127.0.0.1" });
  // The engine is off: the fuzzer checks parsing and storage, not sending.
  herald = await createHerald(config, { logger: silentLogger, store: await stores.open(), engine: false });
});
afterAll(async () => {
  await herald?.close();
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

async function conversationCount(): Promise<number> {
  return (await herald.store.conversations.list({}, { limit: 10_000 })).items.length;
}

/** Valid activities with fields replaced by arbitrary values, dropped or added. */
function mutatedActivity(): fc.Arbitrary<unknown> {
  const seeds = [personalInstall(alice)[0], personalInstall(alice)[1], personalMessage(alice, "help")];
  return fc
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
    .map(([seed, replace, drop]) => {
      const a: Record<string, unknown> = structuredClone(seed);
      for (const [k, v] of replace) a[k] = v;
      for (const k of drop) delete a[k];
      return a;
    });
}

describe("inbound activities", () => {
  it("never answer 5xx and never store a rejected activity", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.jsonValue(), mutatedActivity()), async (body) => {
        const before = await conversationCount();
        const status = await post("/api/messages", JSON.stringify(body));
        expect(status).toBeLessThan(500);
        if (status >= 400) expect(await conversationCount()).toBe(before);
      }),
      { numRuns: 300 },
    );
  });

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
    ["PATCH", "/v1/notifications/n_missing"],
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
