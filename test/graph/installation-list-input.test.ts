import { afterAll, beforeAll, expect, it } from "vitest";
import { call, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { startGraphStack } from "./stack.js";

/** Review: GET /v1/installations must answer 4xx, never 500, to any query. */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), { emulator: { org: { tenants: 1, users: 2, teams: 0 } } });
  });
  afterAll(() => stack?.close());
  const get = (q: string) => call("GET", `${stack.heraldUrl}/v1/installations?${q}`, undefined, STACK_API_KEY);
  const forged = (s: string) => Buffer.from(s, "utf8").toString("base64url");

  it.each([
    ["cursor with NUL", `cursor=${forged("j1:\u0000|x")}`],
    ["cursor with NUL in id", `cursor=${forged("j1:2026|\u0000")}`],
    ["tenantId with NUL", "tenantId=%00"],
    ["cursor not a date", `cursor=${forged("j1:zzz|x")}`],
  ])("%s: not a 500", async (_name, q) => {
    const r = await get(q);
    expect(r.status, JSON.stringify(r.json)).toBeLessThan(500);
  });
  it("pre-existing: GET /v1/installations/%00 not a 500", async () => {
    const r = await call("GET", `${stack.heraldUrl}/v1/installations/%00`, undefined, STACK_API_KEY);
    expect(r.status).toBeLessThan(500);
  });
});
