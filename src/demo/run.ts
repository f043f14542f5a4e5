import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { type NotificationView, progressLine } from "../cli/progress.js";
import { onShutdown } from "../cli/signals.js";
import { loadConfig } from "../config/config.js";
import { type EmulatorHandle, startEmulator } from "../emulator/index.js";
import { createLogger } from "../log.js";
import { createHerald } from "../server/herald.js";
import { demoPoll } from "./poll.js";

export interface DemoOptions {
  /** Users in the sample organisation (all tenants together). */
  users: number;
  /** Herald's port (0 = any free port). */
  port: number;
  /** The emulator's port (0 = any free port). */
  emulatorPort: number;
  /** Folder of the fresh SQLite file. Default `./data`. */
  dataDir?: string;
  /** Where progress goes. Default stdout. */
  out?: NodeJS.WriteStream;
  /** Stay up after the broadcast until SIGINT/SIGTERM (default true). */
  keepRunning?: boolean;
}

const demoCard = {
  type: "AdaptiveCard",
  $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
  version: "1.5",
  body: [
    { type: "TextBlock", text: "Hello ${givenName}", size: "Large", weight: "Bolder", wrap: true },
    {
      type: "TextBlock",
      text: "This is Herald's first broadcast: one message to everyone in your organisation, paced to Teams' limits, with a per-person record of what happened.",
      wrap: true,
    },
    {
      type: "FactSet",
      facts: [
        { title: "Sent to", value: "${name}" },
        { title: "Locale", value: "${locale}" },
      ],
    },
  ],
};

/**
 * `herald demo`: a local Teams (the emulator, with Teams' real rate limits and some users who
 * blocked the bot) and Herald on a fresh SQLite file verifying the emulator's signed tokens.
 * Installs the app for most people (welcome messages flow); some never installed it. The first
 * broadcast (every tenant's directory, `includeUninstalled`) reaches them too: Herald installs the
 * app for them through the emulator's Graph on the way. Prints the summary (with how many were
 * installed on the way) and the URLs, then runs until Ctrl-C.
 */
export async function runDemo(options: DemoOptions): Promise<{ close(): Promise<void> }> {
  const out = options.out ?? process.stdout;
  const tty = out.isTTY === true;
  const say = (line: string) => out.write(`${line}\n`);
  const logger = createLogger("warn");

  const dataDir = resolve(options.dataDir ?? "data");
  mkdirSync(dataDir, { recursive: true });
  const dbPath = join(dataDir, "demo.db");
  for (const suffix of ["", "-wal", "-shm"]) rmSync(dbPath + suffix, { force: true });

  const tenants = 3;
  say(
    `Starting a local Teams emulator: ${tenants} tenants, ${options.users.toLocaleString("en")} users, teams with channels, ~3% who blocked the bot…`,
  );
  const emulator = await startOnPort(options.emulatorPort, (port) =>
    startEmulator({
      port,
      seed: 2026,
      // ~8% never installed the app: the first broadcast reaches them through Graph (proactive install).
      org: { tenants, users: options.users, teams: 6, channelsPerTeam: 3, blockedShare: 0.03, uninstalledShare: 0.08 },
      limits: true,
      tenantRps: 50,
    }),
  );

  const apiKey = `demo_${randomBytes(18).toString("base64url")}`;
  const config = loadConfig({
    HERALD_PORT: String(options.port),
    HERALD_HOST: "127.0.0.1",
    HERALD_DATABASE_URL: `sqlite:${dbPath}`,
    HERALD_APP_ID: emulator.appId,
    HERALD_APP_PASSWORD: "demo-only-secret",
    HERALD_APP_TYPE: "MultiTenant",
    HERALD_TOKEN_ENDPOINT: emulator.tokenUrl,
    HERALD_OPENID_METADATA_URL: emulator.openIdMetadataUrl,
    HERALD_TOKEN_ISSUER: emulator.tokenIssuer,
    HERALD_TRUSTED_HOSTS: "127.0.0.1",
    HERALD_API_KEY: apiKey,
    HERALD_LOG_LEVEL: "warn",
    // The emulator's Graph subset: people who never installed the app get it on the way.
    HERALD_GRAPH_URL: emulator.url,
    HERALD_AUTO_INSTALL: "on",
  });
  let herald: Awaited<ReturnType<typeof createHerald>>;
  try {
    herald = await createHerald(config, { logger });
  } catch (e) {
    await emulator.close();
    throw e;
  }
  let listener: Awaited<ReturnType<typeof herald.listen>>;
  try {
    listener = await herald.listen();
  } catch (e) {
    await herald.close();
    await emulator.close();
    throw new Error(`Herald cannot listen on 127.0.0.1:${options.port} (${(e as Error).message}); pass --port 0 or another port.`);
  }
  emulator.context.bot.setEndpoint(`${listener.url}/api/messages`);
  say(`Herald is up at ${listener.url} (SQLite: ${dbPath}), verifying the emulator's signed activities.`);

  const close = async () => {
    await herald.close();
    await emulator.close();
  };

  try {
    await install(emulator, say, tty, out);
    await herald.handler.drain();
    const personal = await countPersonal(herald.store);
    say(
      `Herald now knows ${personal.toLocaleString("en")} personal chats and ${emulator.org.teams.length} teams; welcome messages went out within Teams' limits.`,
    );

    const installsBefore = await graphInstalls(emulator.url);
    // One broadcast per tenant: `includeUninstalled` reads each tenant's directory through Graph.
    const ids: string[] = [];
    for (const t of emulator.org.tenants) {
      const created = await api(listener.url, apiKey, "POST", "/v1/notifications", {
        audience: { all: true, tenantId: t.id, includeUninstalled: true },
        message: { card: demoCard, summary: "Herald's first broadcast", alert: true },
        idempotencyKey: `demo-first-broadcast-${t.id}`,
      });
      ids.push(created["id"] as string);
    }
    say(
      `Broadcast accepted (${ids.length} tenants, everyone in each directory, installed or not); sending at up to 50 messages/s per tenant (Teams' limit), tenants in parallel:`,
    );
    const view = await watch(listener.url, apiKey, ids, tty, out);
    const c = view.counts;
    const installedOnTheWay = (await graphInstalls(emulator.url)) - installsBefore;
    say("");
    say(
      `Done: ${c["sent"] ?? 0} sent, ${c["blocked"] ?? 0} blocked the bot, ${c["notFound"] ?? 0} not found (uninstalled), ${c["failed"] ?? 0} failed, ${c["optedOut"] ?? 0} opted out; ${installedOnTheWay} installed on the way (proactive install through Graph: welcome, then the broadcast).`,
    );
    const blocked = await herald.store.conversations.list({ kind: "personal", status: "blocked" }, { limit: 10_000 });
    if (blocked.items.length > 0) {
      say(
        `${blocked.items.length} people had already blocked the bot (Teams answered 403 MessageWritesBlocked to their welcome), so the broadcast did not call Teams for them: see /v1/reports/blocked.`,
      );
    }
    await showLocalTime(listener.url, apiKey, say);
    say("");
    await demoPoll(emulator, (method, path, body) => api(listener.url, apiKey, method, path, body), say);
  } catch (e) {
    await close();
    throw e;
  }

  const someone = (await herald.store.conversations.list({ kind: "personal", status: "active" }, { limit: 1 })).items[0];
  const deepLink = someone ? `?conversation=${encodeURIComponent(someone.id)}` : "";
  say("");
  // One-time link: the key never appears in the browser's history, and the link works once (10 minutes).
  const signIn = herald.dashboard.oneTimeToken(apiKey);
  say(`  Dashboard (one-time sign-in link): ${listener.url}/dashboard/sign-in?token=${signIn}`);
  say(`  Chat view (what each user sees):  ${emulator.url}/_emulator/chat${deepLink}`);
  say(`  Herald API:                       ${listener.url}/v1   (API key: ${apiKey})`);
  say(`  OpenAPI:                          ${listener.url}/openapi.json`);
  say(`  Try: curl -s -H "Authorization: Bearer ${apiKey}" ${listener.url}/v1/reports/blocked`);
  if (options.keepRunning !== false) {
    say("Running until Ctrl-C.");
    onShutdown(logger, close);
  }
  return { close };
}

async function startOnPort(port: number, start: (port: number) => Promise<EmulatorHandle>): Promise<EmulatorHandle> {
  try {
    return await start(port);
  } catch (e) {
    if ((e as { code?: string }).code !== "EADDRINUSE" || port === 0) throw e;
    return start(0);
  }
}

/** Apps the emulator's Graph installed so far (its counters). */
async function graphInstalls(emulatorUrl: string): Promise<number> {
  const res = await fetch(`${emulatorUrl}/_emulator/graph`);
  const json = (await res.json()) as { counters?: Record<string, number> };
  return json.counters?.["installs"] ?? 0;
}

async function install(emulator: EmulatorHandle, say: (l: string) => void, tty: boolean, out: NodeJS.WriteStream): Promise<void> {
  // Everyone but the people who never installed the app (the broadcast installs it for them).
  const state = emulator.context.state;
  const users = Array.from({ length: emulator.org.userCount }, (_, i) => i).filter((i) => !state.isUninstalled(i));
  const never = emulator.org.userCount - users.length;
  const job = emulator.context.bot.install({ users }, "add", 0);
  const label = "Installing the app for the people who opened it";
  const timer = setInterval(() => {
    const line = `${label}: ${job.done}/${job.total}`;
    if (tty) out.write(`\r${line}\u001b[K`);
  }, 200);
  try {
    await job.finished;
  } finally {
    clearInterval(timer);
  }
  if (tty) out.write("\r\u001b[K");
  for (const team of emulator.org.teams) await emulator.context.bot.install({ teamId: team.id }, "add", 0).finished;
  say(
    `${label}: ${job.ok} users and ${emulator.org.teams.length} teams installed${job.failed ? ` (${job.failed} failed: ${job.errors[0]?.error})` : ""}; ${never} never installed it.`,
  );
}

async function countPersonal(store: Awaited<ReturnType<typeof createHerald>>["store"]): Promise<number> {
  let n = 0;
  let cursor: string | undefined;
  do {
    const page = await store.conversations.list({ kind: "personal" }, { cursor, limit: 1000 });
    n += page.items.length;
    cursor = page.nextCursor;
  } while (cursor);
  return n;
}

/**
 * A local-time schedule: "09:00 tomorrow morning" for everyone, each in their own time zone (as
 * Teams reported it at install). Prints when the first few zones get it; the sends wait.
 */
async function showLocalTime(base: string, key: string, say: (l: string) => void): Promise<void> {
  const created = await api(base, key, "POST", "/v1/notifications", {
    audience: { all: true },
    message: { text: "Good morning ${givenName}: it is 09:00 where you are (${timezone})." },
    schedule: { localTime: "09:00", ifPassed: "nextDay" },
    idempotencyKey: "demo-good-morning",
  });
  const id = created["id"] as string;
  const deadline = Date.now() + 10_000;
  while ((await api(base, key, "GET", `/v1/notifications/${id}`))["expanding"] === true && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const page = await api(base, key, "GET", `/v1/notifications/${id}/deliveries?limit=1000`);
  const zones = new Map<string, { at: string; people: number }>();
  for (const d of (page["items"] ?? []) as { timezone?: string | null; notBefore?: string | null }[]) {
    if (!d.timezone || !d.notBefore) continue;
    const z = zones.get(d.timezone) ?? { at: d.notBefore, people: 0 };
    z.people++;
    zones.set(d.timezone, z);
  }
  const first = [...zones.entries()].sort((a, b) => a[1].at.localeCompare(b[1].at)).slice(0, 4);
  say(`Scheduled ${id}: "Good morning" at 09:00 in each person's own time zone (schedule.localTime), e.g.`);
  for (const [zone, z] of first) say(`  ${zone.padEnd(22)} ${z.at}  (${z.people} ${z.people === 1 ? "person" : "people"})`);
}

async function api(base: string, key: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** The notifications' views as one: totals and counts added up, completed when all are. */
function combined(views: NotificationView[]): NotificationView {
  const first = views[0]!;
  const counts: Record<string, number> = {};
  for (const v of views) for (const [k, n] of Object.entries(v.counts)) counts[k] = (counts[k] ?? 0) + (n ?? 0);
  const finished = views.every((v) => v.status === "completed" || v.status === "canceled");
  return {
    ...first,
    id: views.length > 1 ? `${views.length} broadcasts` : first.id,
    total: views.reduce((a, v) => a + v.total, 0),
    counts,
    status: finished ? "completed" : views.find((v) => v.status !== "completed" && v.status !== "canceled")!.status,
  };
}

async function watch(base: string, key: string, ids: string[], tty: boolean, out: NodeJS.WriteStream): Promise<NotificationView> {
  let last: { at: number; done: number } | undefined;
  let lastPrinted = 0;
  for (;;) {
    const view = combined(
      await Promise.all(
        ids.map(async (id) => (await api(base, key, "GET", `/v1/notifications/${encodeURIComponent(id)}`)) as unknown as NotificationView),
      ),
    );
    const done = view.total - (view.counts["pending"] ?? 0);
    const now = Date.now();
    const rate = last && now > last.at ? ((done - last.done) * 1000) / (now - last.at) : undefined;
    last = { at: now, done };
    const finished = view.status === "completed" || view.status === "canceled";
    if (tty) out.write(`\r${progressLine(view, rate, true)}\u001b[K`);
    else if (finished || now - lastPrinted > 2000) {
      out.write(`${progressLine(view, rate, false)}\n`);
      lastPrinted = now;
    }
    if (finished) return view;
    await new Promise((r) => setTimeout(r, 250));
  }
}
