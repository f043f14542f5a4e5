import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * PostgreSQL cannot store a NUL character in text (SQLSTATE 22021); before, such input reached
 * the database and answered 500. A body is refused naming the field; a path or query value by
 * the server's error handler, on every route.
 */
const stores = createStoreFactory("postgres");
let stack: Stack;
beforeAll(async () => {
  stack = await startStack(await stores.open(), {
    emulator: { org: { tenants: 1, users: 1, teams: 1, blockedShare: 0, uninstalledShare: 0 } },
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  await stores.cleanup();
});

describe("a NUL character in the input, on PostgreSQL", () => {
  it("in a body: 400 HERALD_E_INVALID_BODY naming the field", async () => {
    const rows: [string, string, unknown, string][] = [
      ["POST", "/v1/notifications", { audience: { users: ["29:a", "29:b\u0000"] }, message: { text: "hi" } }, "body.audience.users[1]"],
      ["POST", "/v1/notifications/test", { userId: "29:a\u0000", message: { text: "hi" } }, "body.userId"],
      ["POST", "/v1/templates", { name: "x", message: { text: "hi" }, category: "c\u0000" }, "body.category"],
      ["POST", "/v1/templates", { name: "x", message: { text: "h\u0000i" } }, "body.message.text"],
      [
        "POST",
        "/v1/notifications",
        { audience: { users: ["29:a"] }, message: { text: "hi" }, data: { "k\u0000": 1 } },
        "body.data (a field name)",
      ],
    ];
    for (const [method, path, body, field] of rows) {
      const r = await call(method, `${stack.heraldUrl}${path}`, body, STACK_API_KEY);
      const error = (r.json as { error?: { code?: string; message?: string } }).error;
      expect(r.status, `${method} ${path}: ${JSON.stringify(r.json)}`).toBe(400);
      expect(error?.code).toBe("HERALD_E_INVALID_BODY");
      expect(error?.message).toContain(`${field}: contains a NUL character`);
    }
  });

  it("in a path or query: 400, never 500", async () => {
    const rows: [string, string][] = [
      ["GET", "/v1/templates/t_%00"],
      ["DELETE", "/v1/templates/t_%00"],
      ["GET", "/v1/notifications/n_%00"],
      ["GET", "/v1/drafts/d_%00"],
      ["GET", "/v1/installations/j_%00"],
    ];
    for (const [method, path] of rows) {
      const r = await call(method, `${stack.heraldUrl}${path}`, undefined, STACK_API_KEY);
      expect([400, 404, 503], `${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`).toContain(r.status);
    }
  });
});

describe("half of a surrogate pair in a body, on PostgreSQL", () => {
  it("is refused naming the field (jsonb cannot store it); a whole pair (an emoji) is fine", async () => {
    const lone = await fetch(`${stack.heraldUrl}/v1/notifications`, {
      method: "POST",
      headers: { authorization: `Bearer ${STACK_API_KEY}`, "content-type": "application/json" },
      body: '{"audience":{"users":["29:a"]},"message":{"text":"hi \\ud83d"}}',
    });
    const body = (await lone.json()) as { error?: { code?: string; message?: string } };
    expect(lone.status, JSON.stringify(body)).toBe(400);
    expect(body.error?.message).toContain("body.message.text: contains");
    const pair = await call(
      "POST",
      `${stack.heraldUrl}/v1/templates`,
      { name: "ok \ud83d\ude00", message: { text: "hi \ud83d\ude00" } },
      STACK_API_KEY,
    );
    expect(pair.status, JSON.stringify(pair.json)).toBe(201);
  });
});
