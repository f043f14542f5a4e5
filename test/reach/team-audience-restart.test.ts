import { afterAll, beforeAll, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import type { Store } from "../../src/store/ports.js";
import { graphCounters, type Json, messagesOf, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Review of issue 15: Herald stops while it installs the app in a team of an audience (the app
 * installed, Teams' install event not yet seen). The next Herald on the same store resumes the
 * expansion: no second install, the team's conversation from Graph (409, GET /teams/{id}), the
 * post in General exactly once.
 */
forEachStore((stores) => {
  let store: Store;
  let stack: Stack;
  let next: Herald | undefined;
  beforeAll(async () => {
    store = await stores.open();
    stack = await startGraphStack(store, {
      emulator: { org: { tenants: 1, users: 10, teams: 1, teamSize: 3, blockedShare: 0, uninstalledShare: 0 }, limits: false },
    });
    await call("POST", `${stack.emulator.url}/_emulator/uninstall`, { teamId: stack.emulator.org.teams[0]!.id, wait: true });
  });
  afterAll(async () => {
    await next?.close();
    await stack?.emulator.close();
  });

  it("stopped mid-install, the next Herald posts once without installing again", async () => {
    const team = stack.emulator.org.teams[0]!;
    const tenantId = stack.emulator.org.tenants[0]!.id;
    // Teams' install event is lost (nobody listens): Herald must learn the team through Graph.
    await call("PUT", `${stack.emulator.url}/_emulator/bot`, { endpoint: "http://127.0.0.1:9/api/messages" });
    const before = (await graphCounters(stack))["installs"] ?? 0;
    const created = await call(
      "POST",
      `${stack.heraldUrl}/v1/notifications`,
      { audience: { teams: [team.aadGroupId], tenantId, deliverTo: "channel" }, message: { text: "Across a restart" } },
      STACK_API_KEY,
    );
    expect(created.status).toBe(202);
    const id = created.json["id"] as string;
    await eventually("the app installed", async () => (((await graphCounters(stack))["installs"] ?? 0) > before ? true : undefined));
    await stack.herald.close();

    next = await createHerald(stack.herald.config, { logger: silentLogger, store });
    const url = (await next.listen()).url;
    await call("PUT", `${stack.emulator.url}/_emulator/bot`, { endpoint: `${url}/api/messages` });
    const view = await eventually(
      `notification ${id} completed`,
      async () => {
        const v = (await call("GET", `${url}/v1/notifications/${id}`, undefined, STACK_API_KEY)).json;
        if (v["status"] === "completed") return v;
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      },
      30_000,
    );
    expect(view["counts"]).toMatchObject({ sent: 1, failed: 0 });
    expect((await graphCounters(stack))["installs"]).toBe(before + 1);
    const posts = (await messagesOf(stack, team.id)).filter((m) => JSON.stringify(m).includes("Across a restart")) as Json[];
    expect(posts).toHaveLength(1);
  });
});
