import { afterAll, beforeAll, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { call, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/** `delivery.mode` over Herald's HTTP API: what the batch path cannot carry is a 400 naming the field. */
forEachStore((stores) => {
  let store: Store;
  let stack: Stack;
  const post = (body: unknown) => call("POST", `${stack.heraldUrl}/v1/notifications`, body, STACK_API_KEY);
  const users = () => ({ users: [stack.emulator.org.user(0).id], tenantId: stack.emulator.org.user(0).tenantId });

  beforeAll(async () => {
    store = await stores.open();
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
