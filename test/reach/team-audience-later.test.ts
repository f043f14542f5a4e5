import { afterAll, beforeAll, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import type { Store } from "../../src/store/ports.js";
import { type Json, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Review of issue 15: a notification to a team named by its Entra group id, accepted while
 * HERALD_AUTO_INSTALL was on (the team to be installed while sending), is sent by a Herald that
 * cannot install (the setting turned off before a scheduled send, or a worker process configured
 * without Graph). The team must still end with a row saying why (notFound, naming the team and
 * what to do), not vanish from the notification (total 0, "completed", no word about it).
 */
forEachStore((stores) => {
  let store: Store;
  let stack: Stack;
  let next: Herald | undefined;
  let nextUrl = "";
  beforeAll(async () => {
    store = await stores.open();
    stack = await startGraphStack(store, {
      emulator: { org: { tenants: 1, users: 10, teams: 1, teamSize: 5, blockedShare: 0, uninstalledShare: 0 }, limits: false },
    });
    await call("POST", `${stack.emulator.url}/_emulator/uninstall`, { teamId: stack.emulator.org.teams[0]!.id, wait: true });
  });
  afterAll(async () => {
    await next?.close();
    await stack?.emulator.close();
  });

  it("accepted with auto-install on, sent by a Herald with it off: the team ends notFound with a row, not silently dropped", async () => {
    const team = stack.emulator.org.teams[0]!;
    const tenantId = stack.emulator.org.tenants[0]!.id;
    const created = await call(
      "POST",
      `${stack.heraldUrl}/v1/notifications`,
      {
        audience: { teams: [team.aadGroupId], tenantId, deliverTo: "channel" },
        message: { text: "Later" },
        schedule: new Date(Date.now() + 3_000).toISOString(),
      },
      STACK_API_KEY,
    );
    expect(created.status).toBe(202);
    const id = created.json["id"] as string;
    await stack.herald.close();

    next = await createHerald({ ...stack.herald.config, autoInstall: "off" }, { logger: silentLogger, store });
    nextUrl = (await next.listen()).url;
    const view = await eventually(
      `notification ${id} completed`,
      async () => {
        const v = (await call("GET", `${nextUrl}/v1/notifications/${id}`, undefined, STACK_API_KEY)).json;
        if (v["status"] === "completed") return v;
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      },
      20_000,
    );
    const rows = ((await call("GET", `${nextUrl}/v1/notifications/${id}/deliveries?limit=100`, undefined, STACK_API_KEY)).json["items"] ??
      []) as Json[];
    expect(view["total"]).toBe(1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "notFound", targetId: team.aadGroupId });
  });
});
