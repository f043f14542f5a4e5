import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, HeraldApiError, type HeraldClient } from "../../src/client/index.js";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";

/** `herald/client` against a running Herald (real HTTP) with the emulator as Teams. */
const stores = createStoreFactory("sqlite");
let stack: Stack;
let client: HeraldClient;

beforeAll(async () => {
  stack = await startStack(await stores.open(), {
    emulator: { org: { tenants: 1, users: 5, teams: 1, blockedShare: 0, uninstalledShare: 0 }, limits: false },
  });
  await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
  await stack.herald.handler.drain();
  client = createClient({ baseUrl: stack.heraldUrl, apiKey: STACK_API_KEY });
});
afterAll(async () => {
  await stack?.close();
  await stores.cleanup();
});

describe("herald/client", () => {
  it("sends to the stored conversations, follows the notification to completed, pages deliveries, edits and recalls", async () => {
    const personal = await client.conversations({ kind: "personal", limit: 100 });
    expect(personal.items).toHaveLength(5);
    expect(personal.nextCursor).toBeNull();
    const ids = personal.items.map((c) => c.id);
    const accepted = await client.notify({ audience: { conversations: ids }, message: { text: "From the typed client" } });
    expect(accepted.id).toMatch(/^n_/);
    const done = await eventually("completed", async () => {
      const n = await client.notification(accepted.id);
      return n.status === "completed" ? n : undefined;
    });
    expect(done.counts.sent).toBe(5);
    const first = await client.deliveries(accepted.id, { limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).not.toBeNull();
    const rest = await client.deliveries(accepted.id, { cursor: first.nextCursor ?? undefined, limit: 10 });
    expect([...first.items, ...rest.items].map((d) => d.status)).toEqual(Array(5).fill("sent"));
    expect((await client.notifications({ limit: 10 })).items.map((n) => n.id)).toContain(accepted.id);
    const edited = await client.edit(accepted.id, { message: { text: "Edited by the typed client" } });
    expect(edited.messageVersion).toBe(2);
    const recalled = await client.recall(accepted.id);
    expect(recalled.canceledAt).toBeTruthy();
  });

  it("refuses a body the server refuses, before sending, with the server's code and message", async () => {
    const bad = { audience: { users: ["29:x"], teams: ["19:y"] }, message: { text: "x" } };
    const local = (await client.notify(bad as never).catch((e: unknown) => e)) as HeraldApiError;
    expect(local).toBeInstanceOf(HeraldApiError);
    expect(local.status).toBe(0);
    const server = await call("POST", `${stack.heraldUrl}/v1/notifications`, bad, STACK_API_KEY);
    expect(server.status).toBe(400);
    expect(server.json["error"]).toEqual({ code: local.code, message: local.message });
  });

  it("turns an error answer into HeraldApiError with its status and code", async () => {
    const wrongKey = createClient({ baseUrl: stack.heraldUrl, apiKey: "not-a-valid-key-0123456789" });
    const error = (await wrongKey.notifications().catch((e: unknown) => e)) as HeraldApiError;
    expect(error).toBeInstanceOf(HeraldApiError);
    expect(error.status).toBe(401);
    expect(error.code).toMatch(/^HERALD_E_/);
    const missing = (await client.notification("n_missing").catch((e: unknown) => e)) as HeraldApiError;
    expect(missing.status).toBe(404);
    expect(missing.code).toBe("HERALD_E_NOT_FOUND");
  });
});
