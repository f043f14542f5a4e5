import type { RecipientDirectory, StoredRecipient } from "../store/port.js";

/**
 * Teams tells a bot nothing when a user unblocks it. A conversation stored `blocked` is therefore
 * tried again when a later notification targets it, at most once per interval
 * (HERALD_BLOCKED_RETRY_INTERVAL): the attempt is recorded when it is decided, so a broadcast
 * to many blocked users, or several notifications at once, cannot try one conversation twice
 * within the interval. Younger blocks are written `blocked` without calling Teams.
 */
export interface BlockedRetry {
  /** 0 = never try a blocked conversation again. */
  intervalMs: number;
  /** ms since the epoch. */
  now: number;
}

/** The blocked conversations among `recipients` to try again now (claimed in the directory). */
export async function claimRetries(
  recipients: Iterable<StoredRecipient>,
  directory: RecipientDirectory,
  retry: BlockedRetry | undefined,
): Promise<Set<string>> {
  if (!retry || retry.intervalMs <= 0) return new Set();
  const blocked = [...recipients].filter((r) => r.status === "blocked").map((r) => r.conversationId);
  if (blocked.length === 0) return new Set();
  return directory.claimBlockedRetries(blocked, retry.now - retry.intervalMs, retry.now);
}

/** The recipient, marked to be tried again when its conversation is in `claimed`. */
export const withRetry = (r: StoredRecipient | undefined, claimed: ReadonlySet<string>): StoredRecipient | undefined =>
  r && claimed.has(r.conversationId) ? { ...r, retryBlocked: true } : r;
