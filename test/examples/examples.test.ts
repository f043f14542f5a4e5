import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmulatorHandle, startEmulator } from "../../src/emulator/index.js";
import { call, eventually } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * examples/<sdk>/bot.mjs: each SDK's bot (botbuilder, Agents SDK, Teams SDK) with Herald inside,
 * importing "herald" and "herald/<sdk>" as a user would (the package's exports, i.e. dist/ as
 * `npm test` builds it). The emulator installs the bot for a user over HTTP with a signed
 * activity the SDK verifies; Herald stores the reference; `notify()` reaches the user with the
 * bot's own token; the bot still answers its user itself (Herald stays quiet).
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const run = promisify(execFile);

interface ExampleBot {
  url: string;
  herald: {
    store: { conversations: { get(id: string): Promise<{ user?: { id: string } } | undefined> } };
    notify(request: unknown): Promise<{ id: string }>;
    notification(id: string): Promise<{ status: string; counts: { sent: number } } | undefined>;
  };
  close(): Promise<void>;
}
interface ExampleModule {
  startBot(options: Record<string, unknown>): Promise<ExampleBot>;
}

const sdks = ["botbuilder", "agents", "teams"] as const;

describe.each(sdks)("examples/%s", (sdk) => {
  const stores = createStoreFactory("sqlite");
  let emu: EmulatorHandle;
  let bot: ExampleBot;
  let appId: string;

  beforeAll(async () => {
    expect(existsSync(join(root, "dist/library/create.js")), "dist/ is missing: run `npm run build` first").toBe(true);
    const shared = (await import(pathToFileURL(join(root, "examples/emulator.mjs")).href)) as {
      exampleAppId: string;
      exampleSecret: string;
    };
    appId = shared.exampleAppId;
    emu = await startEmulator({
      port: 0,
      appId,
      org: { tenants: 1, users: 5, teams: 1, blockedShare: 0, uninstalledShare: 0 },
      limits: false,
    });
    const example = (await import(pathToFileURL(join(root, `examples/${sdk}/bot.mjs`)).href)) as ExampleModule;
    bot = await example.startBot({
      emulatorUrl: emu.url,
      appId,
      secret: shared.exampleSecret,
      port: 0,
      databaseUrl: stores.databaseUrl,
      logLevel: "warn",
    });
    await call("PUT", `${emu.url}/_emulator/bot`, { endpoint: bot.url });
  });
  afterAll(async () => {
    await bot?.close();
    await emu?.close();
    await stores.cleanup();
  });

  const messagesOf = async (conversationId: string) =>
    ((await call("GET", `${emu.url}/_emulator/conversations/${encodeURIComponent(conversationId)}/messages`)).json["messages"] ?? []) as {
      id: string;
      from?: string;
      activity?: { text?: string };
    }[];

  it("receives an install from the emulator, Herald stores the reference, and notify() reaches the user", async () => {
    const user = emu.org.user(emu.org.tenants[0]!.userStart + 2);
    const conversationId = emu.org.personalConversationId(user.index);
    const job = await call("POST", `${emu.url}/_emulator/install`, { users: [user.id], wait: true });
    expect(job.json["ok"]).toBe(1);
    const stored = await eventually("reference stored", () => bot.herald.store.conversations.get(conversationId));
    expect(stored.user?.id).toBe(user.id);

    const sent = await bot.herald.notify({ audience: { conversations: [conversationId] }, message: { text: `Hello from ${sdk}` } });
    const done = await eventually("delivered", async () => {
      const n = await bot.herald.notification(sent.id);
      return n?.status === "completed" ? n : undefined;
    });
    expect(done.counts.sent).toBe(1);
    // Herald sent no welcome of its own (quiet): the notification is the bot's only message.
    expect((await messagesOf(conversationId)).map((m) => m.activity?.text)).toEqual([`Hello from ${sdk}`]);
  });

  it("leaves the user's messages to the bot: the SDK's handler answers, Herald adds nothing", async () => {
    const user = emu.org.user(emu.org.tenants[0]!.userStart + 2);
    const conversationId = emu.org.personalConversationId(user.index);
    const said = await call("POST", `${emu.url}/_emulator/messages`, { from: user.id, text: "ping" });
    expect(said.json["status"]).toBe(200);
    const texts = await eventually("the bot answered", async () => {
      const t = (await messagesOf(conversationId)).map((m) => m.activity?.text);
      return t.includes('You said "ping"') ? t : undefined;
    });
    expect(texts.filter((t) => t !== undefined && t !== "ping")).toEqual([`Hello from ${sdk}`, 'You said "ping"']);
  });

  it("answers a card action with one of Herald's verbs (herald.*) through the SDK's invoke response", async () => {
    const user = emu.org.user(emu.org.tenants[0]!.userStart + 2);
    const conversationId = emu.org.personalConversationId(user.index);
    const [notification] = await messagesOf(conversationId);
    const answer = await call("POST", `${emu.url}/_emulator/invoke`, {
      from: user.id,
      replyToId: notification!.id,
      verb: "herald.example",
    });
    expect(answer.json["status"]).toBe(200);
    // No Herald feature owns herald.example here, so Herald says truthfully that nothing was recorded.
    expect(answer.json["body"]).toEqual({
      statusCode: 200,
      type: "application/vnd.microsoft.activity.message",
      value: "This card does not collect responses yet, so nothing was recorded.",
    });
  });

  it("runs with one command against `herald emulator` (RUN_ONCE=1) and reports the delivery", async () => {
    const { stdout } = await run(process.execPath, [join(root, `examples/${sdk}/bot.mjs`)], {
      cwd: root,
      env: { ...process.env, RUN_ONCE: "1", PORT: "0", DATABASE_URL: `${stores.databaseUrl}-cli` },
      timeout: 60_000,
    });
    expect(stdout).toMatch(new RegExp(`${sdk}: notification n_\\S+ completed, sent=1`));
  }, 90_000);
});
