import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHerald, HeraldError, type HeraldLibrary } from "../../src/index.js";
import { silentLogger } from "../../src/log.js";
import { call } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * `notify()` throws what `POST /v1/notifications` answers as HeraldError (code, message, status),
 * not the engine's internal error classes, which "herald" does not even export.
 */
const stores = createStoreFactory("sqlite");
const API_KEY = "notify-errors-admin-key-0123456789";
let herald: HeraldLibrary;

beforeAll(async () => {
  herald = await createHerald({
    logger: silentLogger,
    databaseUrl: stores.databaseUrl,
    inboundAuth: "off",
    apiKey: API_KEY,
    port: 0,
    engine: false,
  });
});
afterAll(async () => {
  await herald?.close();
  await stores.cleanup();
});

describe("library notify() errors", () => {
  it("an idempotency key reused with another body is HeraldError 409 with the HTTP API's code", async () => {
    const first = { idempotencyKey: "lib-key-1", audience: { conversations: ["a:one"] }, message: { text: "first" } };
    await herald.notify(first);
    const error = await herald.notify({ ...first, message: { text: "second" } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeraldError);
    expect((error as HeraldError).status).toBe(409);
    // The same mistake over HTTP (its own caller, so its own first request).
    const listener = await herald.listen();
    await call("POST", `${listener.url}/v1/notifications`, first, API_KEY);
    const http = await call("POST", `${listener.url}/v1/notifications`, { ...first, message: { text: "second" } }, API_KEY);
    expect(http.status).toBe(409);
    expect((http.json["error"] as { code: string }).code).toBe((error as HeraldError).code);
  });
});
