import { isMainThread } from "node:worker_threads";
import { pino } from "pino";
import type { LogLevel } from "./config/config.js";

/**
 * Structured logs: one JSON line per event. Scope a logger with ids (`log.child({notificationId})`).
 * Never log tokens, secrets or message bodies at info level; the redact list is a last line of
 * defence for fields that carry them.
 */
export type Logger = pino.Logger;

/**
 * Default destination: stderr, written asynchronously and flushed by pino when the process exits.
 * In a worker thread (`herald serve` hosted for its young generation, src/cli/young-generation.ts)
 * pino cannot flush at exit, so the lines go through the thread's process.stderr, which Node
 * hands to the main thread and delivers before the thread ends (measured: without it the last
 * lines, "stopped" among them, were lost).
 */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "herald" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          "authorization",
          "*.authorization",
          "headers.authorization",
          "token",
          "*.token",
          "password",
          "*.password",
          "apiKey",
          "*.apiKey",
          "secret",
          "*.secret",
        ],
        censor: "[redacted]",
      },
    },
    destination ?? (isMainThread ? pino.destination({ dest: 2, sync: false }) : process.stderr),
  );
}

/** A logger that writes nothing (tests, library use). */
export const silentLogger: Logger = pino({ level: "silent" });

/** Shorten and strip control characters from a value that came from outside before logging it. */
export function sanitize(value: unknown, max = 200): string {
  const s = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping them is the point
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, " ");
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
