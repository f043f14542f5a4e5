import { afterAll, beforeAll, expect, it } from "vitest";
import { call, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";
import { startGraphStack } from "./stack.js";

/** Review: the installation CSV (linked from the new Installations page) must defuse formulas like the other CSVs. */
const stores = createStoreFactory("sqlite");
let stack: Stack;
beforeAll(async () => {
  stack = await startGraphStack(await stores.open(), { emulator: { org: { tenants: 1, users: 2, teams: 0 } } });
});
afterAll(async () => {
  await stack?.close();
  await stores.cleanup();
});
const api = (m: string, p: string, b?: unknown) => call(m, `${stack.heraldUrl}${p}`, b, STACK_API_KEY);

it("a user id starting with = is prefixed with ' in the CSV", async () => {
  const tenantId = stack.emulator.org.tenants[0]!.id;
  const r = await api("POST", "/v1/installations", { users: ['=HYPERLINK("http://evil.example","x")'], tenantId });
  if (r.status !== 202) throw new Error(JSON.stringify(r.json));
  const id = r.json["id"] as string;
  for (const deadline = Date.now() + 20_000; ; ) {
    if ((await api("GET", `/v1/installations/${id}`)).json["status"] !== "running") break;
    if (Date.now() > deadline) throw new Error("still running");
    await new Promise((res) => setTimeout(res, 50));
  }
  const csv = await (
    await fetch(`${stack.heraldUrl}/v1/installations/${id}/items?format=csv`, { headers: { authorization: `Bearer ${STACK_API_KEY}` } })
  ).text();
  console.log(csv);
  expect(csv).not.toMatch(/(^|,)"?=HYPERLINK/m);
});
