import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { startEmulator } from "../../src/emulator/index.js";
import { createLogger, silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { call, emulatorEnv, STACK_API_KEY } from "../helpers/stack.js";
import { allDeliveries, createStoreFactory } from "../helpers/stores.js";

type Emulator = Awaited<ReturnType<typeof startEmulator>>;

/**
 * The welcome goes first across processes (issue 15): two Herald instances on one PostgreSQL
 * schema, each with its own WelcomeTracker, limiter and Installer, as two processes have. `front`
 * is the bot endpoint (it takes the install events and stores the welcomes); `back` sends. The
 * person sees one welcome, then the message, and the installing process waits for the welcome
 * front stored (the store's hold), not for its own welcomeWaitMs to pass.
 */
describe("welcome order across processes (PostgreSQL)", () => {
  const stores = createStoreFactory("postgres");
  let emulator: Emulator;
  const heralds: Herald[] = [];
  let frontUrl = "";
  const backLogs: Record<string, unknown>[] = [];

  /** Start a Herald on the shared schema; `bot`: it is the emulator's bot endpoint. Returns its URL. */
  const start = async (opts: { engine: boolean; bot: boolean; logs?: Record<string, unknown>[] }) => {
    const config = loadConfig({
      HERALD_PORT: "0",
      ...emulatorEnv(emulator, { HERALD_GRAPH_URL: emulator.url, HERALD_AUTO_INSTALL: "on", HERALD_TENANT_RPS: "50" }),
    });
    const logs = opts.logs;
    const herald = await createHerald(config, {
      logger: logs
        ? createLogger("info", { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) })
        : silentLogger,
      store: await stores.open(),
      engine: opts.engine,
      // Long enough that a process blind to the other's welcome shows: it would wait all of it.
      welcomeWaitMs: 8_000,
    });
    heralds.push(herald);
    const listener = await herald.listen();
    if (opts.bot)
      await fetch(`${emulator.url}/_emulator/bot`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ endpoint: `${listener.url}/api/messages` }),
      });
    return listener.url;
  };

  beforeAll(async () => {
    emulator = await startEmulator({ org: { tenants: 1, users: 24, teams: 1, blockedShare: 0, uninstalledShare: 1 }, limits: false });
  });
  afterAll(async () => {
    for (const h of heralds) await h.close();
    await emulator?.close();
    await stores.cleanup();
  });

  /** Each chat's messages as letters: W for the welcome, else the notification's text. */
  const transcript = async (chat: string): Promise<string> => {
    const r = await call("GET", `${emulator.url}/_emulator/conversations/${encodeURIComponent(chat)}/messages`);
    return ((r.json["messages"] ?? []) as unknown[])
      .map((m) => {
        const s = JSON.stringify(m);
        return /welcome/i.test(s) ? "W" : (/"text":"([A-Z])"/.exec(s)?.[1] ?? "?");
      })
      .join("");
  };

  const notify = async (users: string[], text: string, url = frontUrl): Promise<string> => {
    const tenantId = emulator.org.tenants[0]?.id ?? "";
    const r = await call("POST", `${url}/v1/notifications`, { audience: { users, tenantId }, message: { text } }, STACK_API_KEY);
    expect(r.status).toBe(202);
    return r.json["id"] as string;
  };

  const completed = async (id: string, ms: number) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = (await call("GET", `${frontUrl}/v1/notifications/${id}`, undefined, STACK_API_KEY)).json;
      if (v["status"] === "completed") return;
      if (Date.now() > deadline) throw new Error(`notification ${id} not completed within ${ms} ms: ${JSON.stringify(v)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it("one process installs and sends, the other stores the welcome: welcome first, no wait for a welcome never seen", async () => {
    frontUrl = await start({ engine: false, bot: true });
    await start({ engine: true, bot: false, logs: backLogs });
    const users = Array.from({ length: 6 }, (_, i) => emulator.org.user(i).aadObjectId);
    const id = await notify(users, "A");
    await completed(id, 30_000);
    const rows = await allDeliveries(heralds[0]!.store, id);
    expect(rows.map((r) => r.status)).toEqual(Array(6).fill("sent"));
    const seen = await Promise.all(rows.map((r) => transcript(r.conversationId ?? "")));
    expect(seen).toEqual(Array(6).fill("WA"));
    // Blind to front's welcomes, back would have waited welcomeWaitMs for each and said so.
    expect(backLogs.filter((l) => String(l["msg"]).startsWith("no welcome seen"))).toEqual([]);
  });

  it("two sending processes, four notifications to the same people at once: one welcome, then the messages", async () => {
    // front sends too now. A process claims the rows of a notification posted to it at once (the
    // other finds it at its next look), so posting to both runs the same person's install steps
    // in both processes (one 201, then a 409 that would not wait for the welcome without
    // install_leases and the store's hold).
    await Promise.all(heralds.splice(0).map((h) => h.close()));
    frontUrl = await start({ engine: true, bot: true });
    const backUrl = await start({ engine: true, bot: false });
    const users = Array.from({ length: 8 }, (_, i) => emulator.org.user(8 + i).aadObjectId);
    const ids = await Promise.all(["B", "C", "D", "E"].map((text, i) => notify(users, text, i % 2 === 0 ? frontUrl : backUrl)));
    for (const id of ids) await completed(id, 60_000);
    const chats = new Set<string>();
    for (const id of ids) for (const r of await allDeliveries(heralds[0]!.store, id)) chats.add(r.conversationId ?? "");
    expect(chats.size).toBe(8);
    const seen = await Promise.all([...chats].map(transcript));
    const wrong = seen.filter((s) => !(s.length === 5 && s[0] === "W" && [...s.slice(1)].sort().join("") === "BCDE"));
    expect(wrong).toEqual([]);
  });
});
