import { afterAll, beforeAll, expect, it } from "vitest";
import { type Json, messagesOf, notifyAndWait, startGraphStack } from "../graph/stack.js";
import { call, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * A broadcast to the tenant's directory (`includeUninstalled`) installs the app for people Herald
 * never talked to. Teams' install event carries no name, and the welcome greets the person by
 * name: Herald takes it from the directory page it already read, not from a member read, which
 * would take one of the tenant's 50 requests per second for every person installed (a third of
 * the budget, with the welcome and the message). The message's `${name}` comes from there too.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 8, teams: 1, blockedShare: 0, uninstalledShare: 1 } },
    });
  });
  afterAll(() => stack?.close());

  const connectorReads = async () =>
    ((await call("GET", `${stack.emulator.url}/_emulator/stats`)).json["global"] as Record<string, number>)["reads"]!;
  const text = (m: Json) => JSON.stringify(m);

  it("welcomes each installed person by the directory's name, with no member read from Teams", async () => {
    const org = stack.emulator.org;
    const before = await connectorReads();
    const { view } = await notifyAndWait(
      stack,
      { audience: { all: true, tenantId: org.tenants[0]!.id, includeUninstalled: true }, message: { text: "Hello ${name}" } },
      40_000,
    );
    expect(view["counts"]).toMatchObject({ sent: 8 });
    for (let i = 0; i < 8; i++) {
      const user = org.user(i);
      const first = user.name.split(" ")[0]!;
      const messages = await messagesOf(stack, org.personalConversationId(i));
      expect(messages.map(text)).toEqual([expect.stringContaining(`Welcome, ${first}!`), expect.stringContaining(`Hello ${user.name}`)]);
    }
    expect((await connectorReads()) - before).toBe(0);
  });
});
