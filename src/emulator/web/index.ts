import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { resolveConversation } from "../connector/conversation.js";
import type { EmulatorContext } from "../context.js";
import { sendJson, sendText } from "../http/io.js";
import type { RouteModule } from "../http/module.js";
import type { Call, Router } from "../http/router.js";
import { chatClient } from "./client.js";
import { renderMarkdown } from "./markdown.js";
import { pageCss, pageHtml } from "./page.js";
import { belongs, conversationView, messageView } from "./view.js";

/** A live stream that falls this far behind (bytes not yet sent) is told to reload instead. */
const SSE_BACKLOG_BYTES = 1 << 20;
/** Comment lines keep idle streams open through proxies and detect gone browsers. */
const SSE_PING_MS = 15_000;

const require = createRequire(import.meta.url);
const vendor = new Map<string, Promise<string>>();

/** A file of the official `adaptivecards` package (read once). */
function adaptiveCardsFile(name: "adaptivecards.min.js" | "adaptivecards.css"): Promise<string> {
  let text = vendor.get(name);
  if (!text) {
    text = readFile(require.resolve(`adaptivecards/dist/${name}`), "utf8");
    vendor.set(name, text);
  }
  return text;
}

function serveVendor(call: Call, name: "adaptivecards.min.js" | "adaptivecards.css", type: string): Promise<void> {
  return adaptiveCardsFile(name).then(
    (text) => sendText(call.res, 200, type, text),
    () =>
      sendJson(call.res, 500, {
        error: { code: "HERALD_E_EMULATOR_NO_RENDERER", message: "The adaptivecards package is not installed; run npm install." },
      }),
  );
}

/** Open a Server-Sent Events stream on `call.res`. */
function openStream(call: Call): (event: string, data: unknown) => boolean {
  call.res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  call.res.write("retry: 1000\n\n");
  return (event, data) => call.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

/**
 * `GET /_emulator/chat/events?conversation=<id>`: a snapshot of the kept messages, then every
 * add, update, delete and card refresh of that conversation (or channel thread) as it happens,
 * from `ctx.messages.watch`. A stream that cannot keep up (a broadcast into one channel with
 * limits off) gets `resync` and is closed, and the page reloads a fresh snapshot.
 */
function events(ctx: EmulatorContext, call: Call): void {
  const wanted = new URLSearchParams(call.query).get("conversation") ?? "";
  const ref = resolveConversation(ctx.org, wanted);
  const send = openStream(call);
  if (!ref) {
    send("problem", { message: `No conversation ${wanted}; pick one on the left.` });
    call.res.end();
    return;
  }
  const botName = ctx.options.botName;
  const kept = ctx.messages.list(ref.id).filter((m) => m.live && belongs(ref, m));
  send("snapshot", { conversation: conversationView(ctx, ref), messages: kept.map((m) => messageView(m, botName)) });
  let stop: (() => void) | undefined;
  const ping = setInterval(() => call.res.write(": ping\n\n"), SSE_PING_MS);
  ping.unref();
  const end = () => {
    stop?.();
    stop = undefined;
    clearInterval(ping);
  };
  stop = ctx.messages.watch((event) => {
    if (!belongs(ref, event.record)) return;
    if (call.res.writableLength > SSE_BACKLOG_BYTES) {
      send("resync", {});
      end();
      call.res.end();
      return;
    }
    send("message", { kind: event.kind, message: messageView(event.record, botName) });
  });
  // Not req's "close": since Node 16 it fires once the request body is read, not on hang-up.
  call.res.on("close", end);
}

/**
 * The chat page as a route module: `GET /_emulator/chat[?conversation=<id>]` shows any
 * simulated user's 1:1 chat, channel (or channel thread) or group chat live, rendering
 * Markdown text and Adaptive Cards with Microsoft's `adaptivecards` renderer (served from
 * node_modules, no CDN), with "Edited" and "This message has been deleted" as Teams shows
 * them. `GET /` redirects to it.
 */
export function chatPageRoutes(): RouteModule {
  return (router: Router, ctx: EmulatorContext) => {
    const script = `(${chatClient.toString()})(${renderMarkdown.toString()});\n`;
    router.add("GET", "/", (call) => {
      call.res.writeHead(302, { location: "/_emulator/chat", "content-length": 0 });
      call.res.end();
    });
    router.add("GET", "/_emulator/chat", (call) => sendText(call.res, 200, "text/html; charset=utf-8", pageHtml(ctx.options.botName)));
    router.add("GET", "/_emulator/chat/app.js", (call) => sendText(call.res, 200, "text/javascript; charset=utf-8", script));
    router.add("GET", "/_emulator/chat/app.css", (call) => sendText(call.res, 200, "text/css; charset=utf-8", pageCss));
    router.add("GET", "/_emulator/chat/adaptivecards.js", (call) =>
      serveVendor(call, "adaptivecards.min.js", "text/javascript; charset=utf-8"),
    );
    router.add("GET", "/_emulator/chat/adaptivecards.css", (call) => serveVendor(call, "adaptivecards.css", "text/css; charset=utf-8"));
    router.add("GET", "/_emulator/chat/events", (call) => events(ctx, call));
  };
}
