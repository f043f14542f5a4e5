import type { Logger } from "../log.js";
import type { AuditLog } from "../store/ports.js";

/**
 * The audit log as the API writes it: a write that fails is logged (error, with the whole entry,
 * so it can be recovered from the logs) and counted, never thrown. Entries are written after the
 * write they describe has committed (a notification, an edit, a key); turning that success into a
 * 500 would make a client that retries without an idempotency key send the broadcast twice.
 */
export function reportingAuditLog(log: AuditLog, logger: Logger, onFailure: (action: string) => void): AuditLog {
  return {
    async record(entry) {
      try {
        await log.record(entry);
      } catch (e) {
        onFailure(entry.action);
        logger.error(
          { err: { message: (e as Error).message, code: (e as { code?: unknown }).code }, audit: entry },
          "audit entry not written: the write it describes is committed and was answered as such",
        );
      }
    },
    list: (page) => log.list(page),
  };
}
