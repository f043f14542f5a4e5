import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { WebSocket } from "undici";

/**
 * Microsoft's M365 Agents Playground (`@microsoft/m365agentsplayground`) run headless as a child
 * process, driven through the same HTTP and WebSocket API its own web client uses:
 *
 * - `GET  /_internal/v1/config`: the mock tenant (users, personal chat, group chat, team); the
 *   web client loads it first (the server waits up to 15 s for the bot endpoint to answer).
 * - `POST /_debug/conversation/{id}/installation` `{}`: what the UI does when a chat is opened
 *   the first time; in `msteams` it sends the bot `installationUpdate` (action `add`) and a
 *   `conversationUpdate` whose `membersAdded` holds the user and the bot.
 * - `POST /_conversation/v1/conversations/{id}/messages` `{from:{id}, text, textFormat}`: the user
 *   writes; answers `{messageId, timestamp}`.
 * - WebSocket `/_ws_conversation/v1/conversations/stream`: `{action: "createMessage" | "updateMessage"
 *   | "typing", actionConversationId, message}` for what the bot posts to the mock Connector
 *   (`http://localhost:<port>/_connector`, the `serviceUrl` of every activity).
 * - WebSocket `/_ws/log/stream`: `{logAction: "appendLog", log}`; for every activity sent to the bot
 *   a log with `activityName` and the bot's `response.statusCode` (the UI's log panel).
 *
 * Both sockets buffer until a client connects. Nothing here reaches beyond loopback: the browser
 * is not opened (TEAMSAPPTESTER_BROWSER=none), telemetry is off (`--disable-telemetry`,
 * APPLICATION_INSIGHTS_NO_STATSBEAT) and the Playground's log file goes to a temp directory.
 */

const require = createRequire(import.meta.url);
/** The package's `bin` (cli.js); resolved through its package.json since it has no `exports`. */
export const playgroundCli = join(dirname(require.resolve("@microsoft/m365agentsplayground/package.json")), "cli.js");

export interface PlaygroundAccount {
  id: string;
  name?: string;
  aadObjectId?: string;
}

/** The mock tenant the Playground simulates (`/_internal/v1/config`). */
export interface PlaygroundConfig {
  config: {
    tenantId: string;
    bot: PlaygroundAccount;
    currentUser: PlaygroundAccount;
    users: PlaygroundAccount[];
    personalChat: { id: string; name: string };
    groupChats: { id: string; name: string; members: string[] }[];
    teams: { id: string; name: string; channels: { id: string; name: string }[] }[];
  };
  internalConfig: { channelId: string; locale?: string };
}

/** A message as the Playground's web client renders it. */
export interface PlaygroundMessage {
  messageId: string;
  timestamp: number;
  from: { id: string };
  text?: string;
  textFormat?: string;
  attachments: { contentType: string; content: unknown }[];
}

/** A frame of the conversation stream. */
export interface ConversationAction {
  action: "createMessage" | "updateMessage" | "typing";
  actionConversationId: string;
  message?: PlaygroundMessage;
}

/** A frame of the log stream; `activityName`/`response` are set for activities sent to the bot. */
export interface LogAction {
  logAction: string;
  log: {
    conversationId?: string;
    activityName?: string;
    from?: string;
    to?: string;
    request?: { body?: Record<string, unknown> };
    response?: { statusCode?: number; body?: unknown };
  };
}

export interface Playground {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** The `serviceUrl` the Playground puts on activities (its mock Connector). */
  serviceUrl: string;
  /** Every frame of the conversation stream, in order. */
  readonly conversation: readonly ConversationAction[];
  /** Every frame of the log stream, in order. */
  readonly log: readonly LogAction[];
  /** Load the mock tenant the way the web client does on start. */
  config(): Promise<PlaygroundConfig>;
  /** Open a chat for the first time in the UI: the Playground sends the install activities. */
  install(conversationId: string): Promise<void>;
  /** The user writes in a chat; returns the Playground's message id. */
  send(conversationId: string, from: string, text: string): Promise<string>;
  /** The first conversation frame (already received or still to come) that matches, or an error at the deadline. */
  waitForConversation(match: (a: ConversationAction) => boolean, timeoutMs?: number): Promise<ConversationAction>;
  /** The first log frame that matches, or an error at the deadline. */
  waitForLog(match: (l: LogAction) => boolean, timeoutMs?: number): Promise<LogAction>;
  /** What the Playground printed so far (for failure messages). */
  output(): Promise<string>;
  /** Close the sockets, stop the process and remove its temp directory. */
  close(): Promise<void>;
}

export interface PlaygroundOptions {
  /** The bot endpoint (`-e`), e.g. `http://127.0.0.1:3978/api/messages`. */
  appEndpoint: string;
  /** How long to wait for the process to listen. */
  startTimeoutMs?: number;
}

/** Start the Playground on a free port (`-p 0`), channel msteams, and connect both streams. */
export async function startPlayground(options: PlaygroundOptions): Promise<Playground> {
  const dir = await mkdtemp(join(tmpdir(), "herald-playground-"));
  const logFile = join(dir, "playground.log");
  const child = spawn(process.execPath, [playgroundCli, "-p", "0", "-e", options.appEndpoint, "-c", "msteams", "--disable-telemetry"], {
    // Its cwd is where it looks for `.m365agentsplayground.yml` (none in an empty directory: built-in defaults).
    cwd: dir,
    env: {
      PATH: process.env["PATH"] ?? "",
      HOME: dir,
      TEAMSAPPTESTER_BROWSER: "none",
      M365_AGENTS_PLAYGROUND_LOGFILE: logFile,
      APPLICATION_INSIGHTS_NO_STATSBEAT: "true",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let printed = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    printed += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    printed += d;
  });
  const output = async () => {
    const file = await readFile(logFile, "utf8").catch(() => "");
    return `${printed}\n--- ${logFile} ---\n${file}`;
  };
  const stop = async () => {
    await stopChild(child, 5_000);
    await rm(dir, { recursive: true, force: true });
  };

  let port: number;
  try {
    // The CLI writes `Listening on <port>` to stdout when stdout is not a TTY.
    const m = await waitForOutput(child, () => printed, /Listening on (\d+)/, options.startTimeoutMs ?? 20_000);
    port = Number(m[1]);
  } catch (e) {
    const out = await output();
    await stop();
    throw new Error(`the Playground did not start: ${(e as Error).message}\n${out}`);
  }
  const url = `http://127.0.0.1:${port}`;
  const conversation = new Stream<ConversationAction>(`${url.replace("http", "ws")}/_ws_conversation/v1/conversations/stream`);
  const log = new Stream<LogAction>(`${url.replace("http", "ws")}/_ws/log/stream`);
  try {
    await Promise.all([conversation.opened, log.opened]);
  } catch (e) {
    conversation.close();
    log.close();
    await stop();
    throw e;
  }

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`Playground POST ${path} answered ${res.status}: ${text}`);
    return text;
  };

  return {
    url,
    port,
    serviceUrl: `http://localhost:${port}/_connector`,
    conversation: conversation.frames,
    log: log.frames,
    async config() {
      const res = await fetch(`${url}/_internal/v1/config`);
      if (!res.ok) throw new Error(`Playground GET /_internal/v1/config answered ${res.status}`);
      return (await res.json()) as PlaygroundConfig;
    },
    async install(conversationId) {
      await post(`/_debug/conversation/${encodeURIComponent(conversationId)}/installation`, {});
    },
    async send(conversationId, from, text) {
      const answer = await post(`/_conversation/v1/conversations/${encodeURIComponent(conversationId)}/messages`, {
        from: { id: from },
        text,
        textFormat: "plain",
      });
      return (JSON.parse(answer) as { messageId: string }).messageId;
    },
    waitForConversation: (match, timeoutMs = 10_000) => conversation.waitFor(match, timeoutMs),
    waitForLog: (match, timeoutMs = 10_000) => log.waitFor(match, timeoutMs),
    output,
    async close() {
      conversation.close();
      log.close();
      await stop();
    },
  };
}

/** A WebSocket whose JSON frames are kept in order; waiters are woken by each frame (no polling). */
class Stream<T> {
  readonly frames: T[] = [];
  readonly opened: Promise<void>;
  private readonly ws: WebSocket;
  private waiters = new Set<() => void>();

  constructor(private readonly url: string) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.addEventListener("open", () => resolve(), { once: true });
      this.ws.addEventListener("error", () => reject(new Error(`cannot open WebSocket ${url}`)), { once: true });
    });
    this.ws.addEventListener("message", (ev) => {
      if (typeof ev.data !== "string") return;
      this.frames.push(JSON.parse(ev.data) as T);
      for (const w of [...this.waiters]) w();
    });
  }

  waitFor(match: (frame: T) => boolean, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.frames.find(match);
        if (!found) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching frame on ${this.url} within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * The first match of `pattern` in what the child printed (`printed()` grows as it writes), or an
 * error when the child exits first or at the deadline.
 */
export function waitForOutput(child: ChildProcess, printed: () => string, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const done = (f: () => void) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      f();
    };
    const onData = () => {
      const m = pattern.exec(printed());
      if (m) done(() => resolve(m));
    };
    const onExit = (code: number | null) => done(() => reject(new Error(`the process exited (code ${code}) before printing ${pattern}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`the process did not print ${pattern} within ${timeoutMs} ms`))), timeoutMs);
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
    onData();
  });
}

/** SIGTERM the child (by its own pid), SIGKILL it if it is still alive at the deadline. */
export function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
