import { afterAll, beforeAll, expect, it } from "vitest";
import { graphRoutes } from "../../src/emulator/index.js";
import type { Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { graphCounters, messagesOf, notifyAndWait, startGraphStack } from "./stack.js";

/**
 * Graph allows fewer installs than Herald's install budget (an emulator set to 3 per second
 * against Herald's 30): Graph answers 429 with Retry-After, Herald waits it out per tenant and
 * every user still gets the welcome and then the message; no install is retried early.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: {
        org: { tenants: 1, users: 12, teams: 1, blockedShare: 0, uninstalledShare: 1 },
        routes: [graphRoutes({ installRate: 3 })],
      },
      // One install on the wire at a time: any request inside a Retry-After is then Herald's fault.
      herald: { installConcurrency: 1 },
    });
  });
  afterAll(() => stack?.close());

  it("429 from Graph: Retry-After honoured (no violation), everyone installed and messaged once, welcome first", async () => {
    const org = stack.emulator.org;
    const users = Array.from({ length: 10 }, (_, i) => org.user(i).aadObjectId);
    const { view } = await notifyAndWait(
      stack,
      { audience: { users, tenantId: org.tenants[0]!.id }, message: { text: "Throttled" } },
      40_000,
    );
    expect(view["counts"]).toMatchObject({ sent: 10, failed: 0 });
    const counters = await graphCounters(stack);
    expect(counters["throttled"]).toBeGreaterThan(0);
    expect(counters["violations"]).toBe(0);
    expect(counters["installs"]).toBe(10);
    for (let i = 0; i < 10; i++) {
      const m = (await messagesOf(stack, org.personalConversationId(i))).map((x) => JSON.stringify(x));
      expect(m).toHaveLength(2);
      expect(m[0]).toContain("Welcome");
      expect(m[1]).toContain("Throttled");
    }
  });
});
