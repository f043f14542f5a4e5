import { afterAll, beforeAll, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/** `delivery.mode` over Herald's HTTP API: what the batch path cannot carry is a 400 naming the field. */
forEachStore((stores) => {
  let store: Store;
  let stack: Stack;
  const post = (body: unknown) => call("POST", `${stack.heraldUrl}/v1/notifications`, body, STACK_API_KEY);
  const users = () => ({ users: [stack.emulator.org.user(0).id], tenantId: stack.emulator.org.user(0).tenantId });

  beforeAll(async () => {
    store = await stores.open();
    // No HERALD_BATCH: the batch path is available by default.
    stack = await startStack(store, { emulator: { org: { users: 10, tenants: 1 } } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it.each([
    ["message.text", { text: "Hello ${givenName}" }, /personalised per recipient/],
    ["message.card", { card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "${name}" }] } }, /personalised/],
    ["message.poll", { poll: { question: "Lunch?", options: ["yes", "no"] } }, /activity id/],
    ["message.ack", { text: "Read this", ack: {} }, /activity id/],
  ])("batch with %s is refused with 400 naming the field", async (field, message, why) => {
    const res = await post({ audience: users(), message, delivery: { mode: "batch" } });
    expect(res.status).toBe(400);
    const error = res.json["error"] as { code: string; message: string };
    expect(error.message.startsWith(`${field}:`)).toBe(true);
    expect(error.message).toMatch(why);
    expect(error.message).toMatch(/delivery\.mode "batch"/);
  });

  it("a local-time schedule and an unknown mode are refused too; individual and auto accept what batch refuses", async () => {
    const local = await post({
      audience: users(),
      message: { text: "at nine" },
      schedule: { localTime: "09:00", timeZone: "UTC" },
      delivery: { mode: "batch" },
    });
    expect(local.status).toBe(400);
    expect((local.json["error"] as { message: string }).message).toMatch(/^schedule\.localTime: .*own local time/);
    const bogus = await post({ audience: users(), message: { text: "x" }, delivery: { mode: "bulk" } });
    expect(bogus.status).toBe(400);
    expect((bogus.json["error"] as { message: string }).message).toMatch(/^delivery\.mode: must be "auto", "batch" or "individual"/);
    for (const mode of ["individual", "auto"])
      expect((await post({ audience: users(), message: { text: "Hi ${givenName}" }, delivery: { mode } })).status).toBe(202);
  });

  it("the OpenAPI document names delivery.mode and what the batch path cannot do", async () => {
    const res = await fetch(`${stack.heraldUrl}/openapi.json`);
    const text = await res.text();
    expect(text).toContain('"delivery"');
    expect(text).toMatch(/can NOT be edited \(PATCH\) or recalled \(DELETE\)/);
  });
});

/** The batch path is off with HERALD_BATCH=off: `batch` is refused, `auto` goes one by one. */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(await stores.open(), {
      emulator: { org: { users: 10, tenants: 1, blockedShare: 0, uninstalledShare: 0 } },
      env: { HERALD_BATCH: "off" },
    });
    await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("HERALD_BATCH=off: batch is a 400 that says how to turn it on; auto sends one request per recipient", async () => {
    const audience = { all: true, tenantId: stack.emulator.org.user(0).tenantId };
    const batch = await call(
      "POST",
      `${stack.heraldUrl}/v1/notifications`,
      { audience, message: { text: "hi" }, delivery: { mode: "batch" } },
      STACK_API_KEY,
    );
    expect(batch.status).toBe(400);
    expect((batch.json["error"] as { code: string; message: string }).message).toContain("HERALD_BATCH=on");
    const auto = await call(
      "POST",
      `${stack.heraldUrl}/v1/notifications`,
      { audience, message: { text: "hi" }, delivery: { mode: "auto" } },
      STACK_API_KEY,
    );
    expect(auto.status).toBe(202);
    const id = String(auto.json["id"]);
    const done = await eventually("completed", async () => {
      const n = await call("GET", `${stack.heraldUrl}/v1/notifications/${id}`, undefined, STACK_API_KEY);
      return n.json["status"] === "completed" ? n.json : undefined;
    });
    expect((done["counts"] as Record<string, number>)["sent"]).toBe(10);
    const stats = (await (await fetch(`${stack.emulator.url}/_emulator/stats`)).json()) as { global: Record<string, number> };
    expect(stats.global["batchOperations"] ?? 0).toBe(0);
  });
});
