import type { Logger } from "../../log.js";

/**
 * Awaits `wait`, logging a warning every `everyMs` while it has not settled, naming `what`: a
 * shutdown that hangs says what it hangs on (the force-exit after 15 s does not).
 */
export async function watched<T>(logger: Logger, what: string, wait: () => Promise<T>, everyMs = 3_000): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => logger.warn({ waitingFor: what, ms: Date.now() - started }, "shutdown: still waiting"), everyMs);
  timer.unref();
  try {
    return await wait();
  } finally {
    clearInterval(timer);
  }
}
