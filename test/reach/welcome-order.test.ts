import { afterAll, beforeAll, expect, it } from "vitest";
import { type Json, messagesOf, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Review (rev4): two notifications to one person who never installed the app, at once. Both
 * install steps run apart from the conversation slot: one gets 201 and waits for the welcome,
 * the other gets 409 and sends at once. The person must see one welcome, then the messages.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 6, teams: 1, blockedShare: 0, uninstalledShare: 1 }, limits: false },
    });
  });
  afterAll(() => stack?.close());

  it("one welcome, before either message", async () => {
    const org = stack.emulator.org;
    const tenantId = org.tenants[0]!.id;
    const users = Array.from({ length: 6 }, (_, i) => org.user(i).aadObjectId);
    const post = async (text: string) =>
      (await call("POST", `${stack.heraldUrl}/v1/notifications`, { audience: { users, tenantId }, message: { text } }, STACK_API_KEY)).json[
        "id"
      ] as string;
    const ids = await Promise.all([post("First"), post("Second")]);
    const rows: Json[] = [];
    for (const id of ids) {
      await eventually(
        "completed",
        async () => {
          const v = (await call("GET", `${stack.heraldUrl}/v1/notifications/${id}`, undefined, STACK_API_KEY)).json;
          return v["status"] === "completed" ? v : undefined;
        },
        30_000,
      );
      rows.push(
        ...((await call("GET", `${stack.heraldUrl}/v1/notifications/${id}/deliveries?limit=100`, undefined, STACK_API_KEY)).json[
          "items"
        ] as Json[]),
      );
    }
    await stack.herald.handler.drain();
    const chats = [...new Set(rows.map((r) => r["conversationId"] as string))];
    expect(chats.length).toBe(6);
    const seen: string[] = [];
    for (const chat of chats) {
      const texts = (await messagesOf(stack, chat)).map((m) => {
        const s = JSON.stringify(m);
        return s.includes("Welcome") || s.includes("welcome") ? "W" : s.includes("First") ? "F" : s.includes("Second") ? "S" : "?";
      });
      seen.push(texts.join(""));
    }
    // Each chat: W then F and S in any order.
    expect(seen.filter((s) => !(s === "WFS" || s === "WSF"))).toEqual([]);
  });
});
