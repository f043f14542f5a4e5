import { afterAll, beforeAll, expect, it } from "vitest";
import { type Json, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * The tenant's install budget is its own limit (issue 15): a broadcast waiting for slow installs
 * (one install every 4 s) takes none of the tenant's message slots (5/s), so a broadcast of the same tenant
 * to people who have the app goes at the tenant's full rate meanwhile.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      // Users 0-19 have the app (Herald learns their chats below); 20-39 never installed it.
      emulator: { org: { tenants: 1, users: 40, teams: 1, blockedShare: 0, uninstalledShare: 0 }, limits: false },
      env: { HERALD_TENANT_RPS: "5" },
      herald: { installRps: 0.25 },
    });
    const org = stack.emulator.org;
    await call("POST", `${stack.emulator.url}/_emulator/install`, { users: Array.from({ length: 20 }, (_, i) => i), wait: true });
    for (let i = 20; i < 40; i++)
      await call("PATCH", `${stack.emulator.url}/_emulator/users/${encodeURIComponent(org.user(i).id)}`, { uninstalled: true });
    await eventually("20 chats stored", async () => {
      const r = await call("GET", `${stack.heraldUrl}/v1/conversations?kind=personal&limit=100`, undefined, STACK_API_KEY);
      return (r.json["items"] as Json[]).length === 20 ? true : undefined;
    });
    await stack.herald.handler.drain();
  });
  afterAll(() => stack?.close());

  it("20 installs at 0.25/s do not slow 20 sends at 5/s of the same tenant", async () => {
    const org = stack.emulator.org;
    const tenantId = org.tenants[0]!.id;
    const post = async (users: string[], text: string) => {
      const r = await call(
        "POST",
        `${stack.heraldUrl}/v1/notifications`,
        { audience: { users, tenantId }, message: { text } },
        STACK_API_KEY,
      );
      expect(r.status).toBe(202);
      return r.json["id"] as string;
    };
    const completed = async (id: string) =>
      eventually(
        "the sends completed",
        async () => {
          // At most 10 looks a second: the key's request limit (20/s, bursts of 100) must not refuse the next POST.
          await new Promise((r) => setTimeout(r, 100));
          const v = (await call("GET", `${stack.heraldUrl}/v1/notifications/${id}`, undefined, STACK_API_KEY)).json;
          return v["status"] === "completed" ? v : undefined;
        },
        30_000,
      );
    const installed = Array.from({ length: 20 }, (_, i) => org.user(i).aadObjectId);
    // The same sends alone first: what the tenant's rate gives (20 at 5/s, about 4 s).
    let started = Date.now();
    expect((await completed(await post(installed, "Alone")))["counts"]).toMatchObject({ sent: 20 });
    const alone = Date.now() - started;
    const uninstalled = Array.from({ length: 20 }, (_, i) => org.user(20 + i).aadObjectId);
    await post(uninstalled, "Needs an install");
    started = Date.now();
    const view = await completed(await post(installed, "Beside the installs"));
    const beside = Date.now() - started;
    expect(view["counts"]).toMatchObject({ sent: 20 });
    // Sharing the tenant's slots with the install rows would take about twice as long.
    expect(beside, `alone ${alone} ms, beside the installs ${beside} ms`).toBeLessThan(alone * 1.25 + 300);
  });
});
