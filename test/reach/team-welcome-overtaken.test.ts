import { afterAll, beforeAll, expect, it } from "vitest";
import { type Json, messagesOf, notifyAndWait, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Review (rev15a): the team path of test/reach/welcome-overtaken. A notification to a team
 * (named by its 19: id) accepted after another notification's install in that team stored the
 * team: its post is an ordinary new thread in a known channel, and must not go before the team's
 * welcome (here still on its way: Teams answered its first send 503).
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 10, teams: 1, teamSize: 3, blockedShare: 0, uninstalledShare: 0 }, limits: false },
    });
    // Herald sees the app leave the team: the next team audience installs it again.
    await call("POST", `${stack.emulator.url}/_emulator/uninstall`, { teamId: stack.emulator.org.teams[0]!.id, wait: true });
  });
  afterAll(() => stack?.close());

  it("a post to a team whose install's welcome is on its way goes after the welcome", async () => {
    const org = stack.emulator.org;
    const tenantId = org.tenants[0]!.id;
    const team = org.teams[0]!;
    // The next Connector POST of the tenant (the team's welcome) fails once with 503: it goes again later.
    await call("PUT", `${stack.emulator.url}/_emulator/faults`, { status503: 1, method: "POST", tenantId, count: 1 });
    const first = await call(
      "POST",
      `${stack.heraldUrl}/v1/notifications`,
      { audience: { teams: [team.aadGroupId], tenantId, deliverTo: "channel" }, message: { text: "First post" } },
      STACK_API_KEY,
    );
    expect(first.status).toBe(202);
    await eventually(
      "the team active again from its install event",
      async () => {
        const r = await call("GET", `${stack.heraldUrl}/v1/conversations?kind=channel&limit=200`, undefined, STACK_API_KEY);
        return (r.json["items"] as Json[]).some((c) => c["id"] === team.id && c["status"] === "active") ? true : undefined;
      },
      15_000,
    );
    const { view } = await notifyAndWait(
      stack,
      { audience: { teams: [team.id], deliverTo: "channel" }, message: { text: "Second post" } },
      30_000,
    );
    expect(view["counts"]).toMatchObject({ sent: 1 });
    await eventually(
      "the first completed",
      async () => {
        const v = (await call("GET", `${stack.heraldUrl}/v1/notifications/${first.json["id"]}`, undefined, STACK_API_KEY)).json;
        return v["status"] === "completed" ? v : undefined;
      },
      30_000,
    );
    await stack.herald.handler.drain();
    const seen = (await messagesOf(stack, team.id)).map((m) => {
      const s = JSON.stringify(m);
      return s.includes("was added to") ? "W" : s.includes("First post") ? "F" : s.includes("Second post") ? "S" : "?";
    });
    expect(seen[0]).toBe("W");
    expect([...seen].sort().join("")).toBe("FSW");
  });
});
