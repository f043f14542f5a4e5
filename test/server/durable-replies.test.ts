import { afterAll, beforeAll, expect, it } from "vitest";
import { SYSTEM_CREATOR } from "../../src/delivery/model.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import type { Store } from "../../src/store/ports.js";
import { call, eventually, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

type Json = Record<string, unknown>;

/**
 * Issue 10, "Replies are durable": a welcome or an answer is a stored row of the delivery engine
 * before Teams gets its 200, so a process that stops before sending it loses nothing, and an
 * activity Teams delivers twice is answered once.
 */
forEachStore((stores) => {
  let stack: Stack;
  let store: Store;
  let second: Herald | undefined;
  beforeAll(async () => {
    store = await stores.open();
    stack = await startStack(store, { emulator: { org: { tenants: 1, users: 3, teams: 0, blockedShare: 0, uninstalledShare: 0 } } });
  });
  afterAll(async () => {
    await second?.close();
    // The first process was closed by the first test.
    await stack?.emulator.close();
  });

  const control = (method: string, path: string, body?: unknown) => call(method, `${stack.emulator.url}/_emulator${path}`, body);
  const botMessages = async (conversationId: string) =>
    (((await control("GET", `/conversations/${encodeURIComponent(conversationId)}/messages`)).json["messages"] ?? []) as Json[]).filter(
      (m) => m["from"] === "bot",
    );
  const users = async () => ((await control("GET", "/users?limit=10")).json["users"] ?? []) as { id: string }[];

  it("a welcome accepted by a process that stopped before it could send it is sent by the next process", async () => {
    // Every send fails (503) while the first process runs: the welcome can only be retried.
    await control("PUT", "/faults", { status503: 1 });
    const [user] = await users();
    await control("POST", "/install", { users: [user?.id], wait: true });
    const chat = await store.conversations.findPersonal(undefined, user?.id ?? "");
    expect(chat).toBeDefined();
    const rows = await store.deliveries.listNotifications({ includeSystem: true }, { limit: 10 });
    expect(rows.items.filter((n) => n.createdBy === SYSTEM_CREATOR)).toHaveLength(1);
    // Hidden from the default listing.
    expect((await store.deliveries.listNotifications({}, { limit: 10 })).items).toHaveLength(0);
    await stack.herald.close();
    await control("DELETE", "/faults");
    expect(await botMessages(chat?.id ?? "")).toHaveLength(0);

    second = await createHerald(stack.herald.config, { logger: silentLogger, store });
    const listener = await second.listen();
    await control("PUT", "/bot", { endpoint: `${listener.url}/api/messages` });
    const said = await eventually("the welcome sent after the restart", async () => {
      const m = await botMessages(chat?.id ?? "");
      return m.length > 0 ? m : undefined;
    });
    expect(said).toHaveLength(1);
    expect(JSON.stringify(said)).toContain("Welcome");
  });

  it("an activity delivered twice (same id) is answered once, and the answer counts in herald_replies_total", async () => {
    const herald = second;
    if (!herald) throw new Error("the previous test starts the second process");
    const [, user] = await users();
    await control("POST", "/install", { users: [user?.id], wait: true });
    const chat = await eventually("chat stored", () => store.conversations.findPersonal(undefined, user?.id ?? ""));
    await eventually("welcome", async () => ((await botMessages(chat.id)).length === 1 ? true : undefined));
    const activity = {
      type: "message",
      id: "redelivered-1",
      serviceUrl: chat.serviceUrl,
      channelId: "msteams",
      from: { id: user?.id ?? "" },
      recipient: { id: chat.bot.id },
      conversation: { id: chat.id, conversationType: "personal", tenantId: chat.tenantId },
      channelData: { tenant: { id: chat.tenantId } },
      text: "help",
    };
    await herald.handler.handle(activity);
    await herald.handler.handle(activity);
    await eventually("the answer sent", async () => ((await botMessages(chat.id)).length === 2 ? true : undefined));
    // Every system row is final: nothing else can still be sent.
    await eventually("no reply left to send", async () => {
      const list = await store.deliveries.listNotifications({ includeSystem: true }, { limit: 50 });
      return list.items.every((n) => n.counts.pending === 0) ? true : undefined;
    });
    expect(await botMessages(chat.id)).toHaveLength(2);
    expect(herald.metrics.replies.get({ kind: "answer", result: "stored" })).toBe(1);
    expect(herald.metrics.replies.get({ kind: "answer", result: "duplicate" })).toBe(1);
  });
});
