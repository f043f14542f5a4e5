import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { call, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { graphCounters, type Json, messagesOf, notifyAndWait, startGraphStack } from "./stack.js";

/**
 * Proactive installation against the emulator's Graph subset (auth on): users Herald never
 * talked to get the app installed, the welcome, then the message; refusals end per recipient
 * with their own code.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      // Nobody has the app: Herald knows no conversation at all.
      emulator: { org: { tenants: 1, users: 40, teams: 1, blockedShare: 0, uninstalledShare: 1 } },
    });
  });
  afterAll(() => stack?.close());

  const org = () => stack.emulator.org;
  const tenantId = () => org().tenants[0]!.id;
  const control = (method: string, path: string, body?: unknown) => call(method, `${stack.emulator.url}/_emulator${path}`, body);
  const text = (m: Json) => JSON.stringify(m);

  it("installs the app for a user Herald never saw, then sends: one welcome, then one message, in that order", async () => {
    const user = org().user(0);
    const before = await graphCounters(stack);
    const { view, rows } = await notifyAndWait(stack, {
      audience: { users: [user.aadObjectId], tenantId: tenantId() },
      message: { text: "First notice after install" },
    });
    expect(view["counts"]).toMatchObject({ sent: 1, failed: 0, notFound: 0 });
    expect(rows[0]).toMatchObject({ status: "sent", conversationId: org().personalConversationId(0) });
    const messages = await messagesOf(stack, org().personalConversationId(0));
    expect(messages).toHaveLength(2);
    expect(text(messages[0]!)).toContain("Welcome");
    expect(text(messages[1]!)).toContain("First notice after install");
    expect((await graphCounters(stack))["installs"]! - before["installs"]!).toBe(1);
    // The install events recorded the chat: the next notification needs no Graph call.
    const requests = (await graphCounters(stack))["requests"]!;
    await notifyAndWait(stack, { audience: { users: [user.aadObjectId], tenantId: tenantId() }, message: { text: "Second" } });
    expect((await graphCounters(stack))["requests"]).toBe(requests);
    await stack.herald.handler.drain();
    const all = await messagesOf(stack, org().personalConversationId(0));
    expect(all.filter((m) => text(m).includes("Welcome"))).toHaveLength(1);
  });

  it("409: the app was already installed (Herald missed the events): no second welcome, the message goes", async () => {
    const user = org().user(1);
    // Installed on Teams' side without the bot hearing of it.
    await control("PATCH", `/users/${encodeURIComponent(user.id)}`, { uninstalled: false });
    const before = await graphCounters(stack);
    const { view } = await notifyAndWait(stack, {
      audience: { users: [user.aadObjectId], tenantId: tenantId() },
      message: { text: "To an installed user" },
    });
    expect(view["counts"]).toMatchObject({ sent: 1 });
    expect((await graphCounters(stack))["conflicts"]! - before["conflicts"]!).toBe(1);
    const messages = await messagesOf(stack, org().personalConversationId(1));
    expect(messages).toHaveLength(1);
    expect(text(messages[0]!)).toContain("To an installed user");
  });

  it("each refusal ends the recipient with its own code: app policy, not in catalog, no licence, unknown user", async () => {
    const code = async (i: number | string, setup: Json | undefined) => {
      if (setup) await control("PUT", "/graph/refusals", { tenantId: tenantId(), ...setup });
      const id = typeof i === "number" ? org().user(i).aadObjectId : i;
      const { rows } = await notifyAndWait(stack, { audience: { users: [id], tenantId: tenantId() }, message: { text: "refused?" } });
      await control("DELETE", "/graph/refusals");
      return rows[0]!;
    };
    expect(await code(2, { policy: true })).toMatchObject({ status: "failed", lastErrorCode: "HERALD_E_INSTALL_APP_POLICY" });
    expect(await code(3, { notInCatalog: true })).toMatchObject({ status: "failed", lastErrorCode: "HERALD_E_INSTALL_NOT_IN_CATALOG" });
    expect(await code(4, { noLicense: [org().user(4).aadObjectId] })).toMatchObject({
      status: "failed",
      lastErrorCode: "HERALD_E_INSTALL_NO_LICENSE",
    });
    expect(await code(randomUUID(), undefined)).toMatchObject({ status: "notFound", lastErrorCode: "HERALD_E_INSTALL_USER_NOT_FOUND" });
    // Nothing reached those users.
    for (const i of [2, 3, 4]) expect(await messagesOf(stack, org().personalConversationId(i))).toHaveLength(0);
  });

  it("30 installs at Graph's pace: every user welcomed then messaged, no 429 from Graph", async () => {
    const users = Array.from({ length: 30 }, (_, k) => org().user(10 + k).aadObjectId);
    const before = await graphCounters(stack);
    const { view } = await notifyAndWait(stack, { audience: { users, tenantId: tenantId() }, message: { text: "Broadcast" } }, 30_000);
    expect(view["counts"]).toMatchObject({ sent: 30 });
    const after = await graphCounters(stack);
    expect(after["installs"]! - before["installs"]!).toBe(30);
    expect(after["throttled"]! - before["throttled"]!).toBe(0);
    for (const k of [0, 14, 29]) {
      const m = await messagesOf(stack, org().personalConversationId(10 + k));
      expect(m.map((x) => (text(x).includes("Welcome") ? "welcome" : text(x).includes("Broadcast") ? "message" : "?"))).toEqual([
        "welcome",
        "message",
      ]);
    }
  });

  it("{all, tenantId, includeUninstalled}: stored chats plus the directory's users who never installed, each once", async () => {
    const before = await graphCounters(stack);
    const known = (await call("GET", `${stack.heraldUrl}/v1/conversations?kind=personal&limit=100`, undefined, STACK_API_KEY)).json[
      "items"
    ] as Json[];
    const { view } = await notifyAndWait(
      stack,
      { audience: { all: true, tenantId: tenantId(), includeUninstalled: true }, message: { text: "Everyone" } },
      40_000,
    );
    expect(view["total"]).toBe(40);
    expect(view["counts"]).toMatchObject({ sent: 40 });
    // Users 1 (409 earlier: no stored chat) and 2..9 had no chat Herald knew: the directory brought them in.
    expect(known.length).toBeLessThan(40);
    expect((await graphCounters(stack))["installs"]! - before["installs"]!).toBeGreaterThan(0);
    for (const i of [2, 5, 39])
      expect((await messagesOf(stack, org().personalConversationId(i))).filter((m) => text(m).includes("Everyone"))).toHaveLength(1);
  });
});
