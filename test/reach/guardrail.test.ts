import { afterAll, beforeAll, expect, it } from "vitest";
import { startGraphStack } from "../graph/stack.js";
import { call, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Review (rev4): a key limited to one team (identity's guardrails) may not install the app for
 * the whole tenant, nor in another team: `POST /v1/installations` ignores the team/group limit.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 10, teams: 2, teamSize: 5, blockedShare: 0, uninstalledShare: 1 } },
    });
  });
  afterAll(() => stack?.close());

  it("a team-limited key cannot install for every person of the tenant or in another team", async () => {
    const [t0, t1] = [stack.emulator.org.teams[0]!, stack.emulator.org.teams[1]!];
    const tenantId = stack.emulator.org.tenants[0]!.id;
    const made = await call("POST", `${stack.heraldUrl}/v1/keys`, { name: "team0", scopes: ["admin"], teams: [t0.id] }, STACK_API_KEY);
    expect(made.status).toBe(201);
    const key = (made.json["key"] ?? made.json["secret"]) as string;
    const all = await call("POST", `${stack.heraldUrl}/v1/installations`, { all: true, tenantId }, key);
    const other = await call("POST", `${stack.heraldUrl}/v1/installations`, { teams: [t1.aadGroupId], tenantId }, key);
    expect([all.status, other.status]).toEqual([403, 403]);
  });
});
