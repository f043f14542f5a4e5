import type { Logger } from "../log.js";
import type { AuditLog } from "../store/ports.js";
import { withinOr } from "../within.js";

/** How long an audit write may hold back the answer to the write it describes. */
export const auditWriteTimeoutMs = 2000;

/**
 * The audit log as the API writes it: a write that fails is logged (error, with the whole entry
 * and the error's stack, so it can be recovered from the logs) and counted, never thrown. Entries
 * are written after the write they describe has committed (a notification, an edit, a key);
 * turning that success into a 500 would make a client that retries without an idempotency key
 * send the broadcast twice. A write that has not finished after `timeoutMs` (a locked table, a
 * hung connection) is logged and counted the same way and the answer goes out; the write itself
 * is not cancelled and may still finish (logged at info when it does).
 */
export function reportingAuditLog(
  log: AuditLog,
  logger: Logger,
  onFailure: (action: string) => void,
  timeoutMs: number = auditWriteTimeoutMs,
): AuditLog {
  const errorOf = (e: unknown) => ({
    message: (e as Error)?.message ?? String(e),
    code: (e as { code?: unknown })?.code,
    stack: (e as Error)?.stack,
  });
  return {
    async record(entry) {
      const write = log.record(entry).then(
        () => ({ ok: true as const }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      const result = await withinOr(write, timeoutMs, "timeout" as const);
      if (result !== "timeout" && result.ok) return;
      onFailure(entry.action);
      if (result === "timeout") {
        logger.error(
          { audit: entry, timeoutMs },
          `audit entry not written within ${timeoutMs} ms: the write it describes is committed and was answered as such (the audit write may still finish)`,
        );
        void write.then((late) => {
          if (late.ok) logger.info({ audit: entry }, "audit entry written late, after its write was answered");
          else logger.error({ err: errorOf(late.error), audit: entry }, "audit entry not written (it had timed out before)");
        });
        return;
      }
      logger.error(
        { err: errorOf(result.error), audit: entry },
        "audit entry not written: the write it describes is committed and was answered as such",
      );
    },
    list: (page) => log.list(page),
  };
}
