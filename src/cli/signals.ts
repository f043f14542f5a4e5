import type { Logger } from "../log.js";

/**
 * Graceful shutdown on SIGTERM/SIGINT: run `stop` (stop taking work, finish or release what is
 * in flight), then exit; a second signal or `boundMs` (default 15 s) forces the exit.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, boundMs = 15_000): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, "second signal: exiting now");
      process.exit(130);
    }
    stopping = true;
    logger.info({ signal }, "shutting down");
    const force = setTimeout(() => {
      logger.error({ boundMs }, "shutdown took too long: exiting");
      process.exit(1);
    }, boundMs);
    force.unref();
    stop()
      .then(() => {
        logger.info("stopped");
        logger.flush?.();
        process.exit(0);
      })
      .catch((e: unknown) => {
        logger.error({ err: e instanceof Error ? e.message : String(e) }, "shutdown failed");
        process.exit(1);
      });
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}
