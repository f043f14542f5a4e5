import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { graphCounters, messagesOf, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * Review of issue 15, two Herald processes on one PostgreSQL: two notifications to the same
 * missing team, one accepted by each process, at once. One install; each post once in General,
 * both after the welcome the install triggers (as in one process, team-audience-review.test.ts).
 */
describe("two processes on PostgreSQL", () => {
  const stores = createStoreFactory("postgres");
  let stack: Stack;
  let other: Herald | undefined;
  let otherUrl = "";
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 10, teams: 1, teamSize: 3, blockedShare: 0, uninstalledShare: 0 }, limits: false },
    });
    await call("POST", `${stack.emulator.url}/_emulator/uninstall`, { teamId: stack.emulator.org.teams[0]!.id, wait: true });
    other = await createHerald(stack.herald.config, { logger: silentLogger, store: await stores.open() });
    otherUrl = (await other.listen()).url;
  });
  afterAll(async () => {
    await other?.close();
    await stack?.close();
    await stores.cleanup();
  });

  it("one install; each post once, after the welcome", async () => {
    const team = stack.emulator.org.teams[0]!;
    const tenantId = stack.emulator.org.tenants[0]!.id;
    const before = (await graphCounters(stack))["installs"] ?? 0;
    const audience = { teams: [team.aadGroupId], tenantId, deliverTo: "channel" };
    const ids = await Promise.all(
      [stack.heraldUrl, otherUrl].map(async (base, i) => {
        const r = await call("POST", `${base}/v1/notifications`, { audience, message: { text: `Process ${i}` } }, STACK_API_KEY);
        expect(r.status).toBe(202);
        return r.json["id"] as string;
      }),
    );
    for (const id of ids)
      await eventually(
        `notification ${id} completed`,
        async () => {
          const v = (await call("GET", `${stack.heraldUrl}/v1/notifications/${id}`, undefined, STACK_API_KEY)).json;
          if (v["status"] === "completed") return v;
          await new Promise((r) => setTimeout(r, 100));
          return undefined;
        },
        30_000,
      );
    await stack.herald.handler.drain();
    expect((await graphCounters(stack))["installs"]).toBe(before + 1);
    const texts = (await messagesOf(stack, team.id)).map((m) => {
      const s = JSON.stringify(m);
      return s.includes("Process 0") ? "0" : s.includes("Process 1") ? "1" : "W";
    });
    expect(texts.filter((t) => t === "0")).toHaveLength(1);
    expect(texts.filter((t) => t === "1")).toHaveLength(1);
    expect(texts[0]).toBe("W");
  });
});
