import type { Migration } from "./migration.js";

/**
 * When Herald last tried a conversation that had blocked the bot again (ISO 8601, null = never).
 * Teams tells a bot nothing when a user unblocks it, so a blocked conversation is tried again
 * when a later notification targets it, at most once per HERALD_BLOCKED_RETRY_INTERVAL: this is
 * the time of that attempt, recorded when the attempt is decided (not only when it fails), so a
 * broadcast to many blocked users cannot try the same conversation twice within the interval.
 * `deliveries.retry_blocked` marks the row of such an attempt (kept through its retries).
 */
export const m008BlockedRetry: Migration = {
  name: "008_blocked_retry",
  async up(db) {
    await db.schema.alterTable("conversations").addColumn("blocked_retry_at", "text").execute();
    // 1 on a row that tries such a conversation again: when it is sent, the conversation is active again.
    await db.schema.alterTable("deliveries").addColumn("retry_blocked", "integer").execute();
  },
};
