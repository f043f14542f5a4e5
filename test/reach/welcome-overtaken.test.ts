import { afterAll, beforeAll, expect, it } from "vitest";
import { type Json, messagesOf, notifyAndWait, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Review (rev15a): a notification sent to a person while another notification's install for
 * them is under way. Its row is written after the install event stored the person's chat, so
 * it is an ordinary send to a known chat (no install step, none of its waits): it must not
 * overtake the welcome that install triggered, still on its way (here: Teams answered the
 * welcome's first send 503, so it goes again a moment later).
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 2, teams: 1, blockedShare: 0, uninstalledShare: 1 }, limits: false },
    });
  });
  afterAll(() => stack?.close());

  it("a second notification to a person being installed waits for the welcome", async () => {
    const org = stack.emulator.org;
    const tenantId = org.tenants[0]!.id;
    const user = org.user(0).aadObjectId;
    const chat = org.personalConversationId(0);
    // The next Connector POST of the tenant (the welcome) fails once with 503: it is sent again later.
    await call("PUT", `${stack.emulator.url}/_emulator/faults`, { status503: 1, method: "POST", tenantId, count: 1 });
    const first = await call(
      "POST",
      `${stack.heraldUrl}/v1/notifications`,
      { audience: { users: [user], tenantId }, message: { text: "First one" } },
      STACK_API_KEY,
    );
    expect(first.status).toBe(202);
    await eventually(
      "the chat known from the install event",
      async () => {
        const r = await call("GET", `${stack.heraldUrl}/v1/conversations?kind=personal&limit=50`, undefined, STACK_API_KEY);
        return (r.json["items"] as Json[]).some((c) => c["id"] === chat) ? true : undefined;
      },
      15_000,
    );
    const { view } = await notifyAndWait(stack, { audience: { users: [user], tenantId }, message: { text: "Second one" } }, 30_000);
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
    const seen = (await messagesOf(stack, chat)).map((m) => {
      const s = JSON.stringify(m);
      return s.includes("Welcome") ? "W" : s.includes("First one") ? "F" : s.includes("Second one") ? "S" : "?";
    });
    expect(seen[0]).toBe("W");
    expect([...seen].sort().join("")).toBe("FSW");
  });
});
