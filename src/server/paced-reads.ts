import type { Clock } from "../clock.js";
import type { ConnectorClient } from "../connector/client.js";
import { isTeams429, judge, retryAfterHold } from "../delivery/dispatch/outcome.js";
import { type BucketKey, holdAfter429, type RateLimiter } from "../delivery/limits/index.js";
import { conversationBucket, type Policies, tenantBucket } from "../delivery/policies.js";
import type { RetryPolicy } from "../delivery/retry.js";
import type { BotReads } from "../inbound/handler.js";
import type { Logger } from "../log.js";

/** What pacedReads needs; the composition root passes the delivery engine's limiter and policies. */
export interface PacedReadsDeps {
  connector: ConnectorClient;
  /** The delivery engine's limiter and policies: reads share the tenant's and conversation's budget with broadcasts. */
  limiter: RateLimiter;
  policies: Policies;
  clock: Clock;
  logger: Logger;
  random?: () => number;
  /** Aborted at shutdown: waits stop at once. */
  signal?: AbortSignal;
}

/** The backoff a 429 without Retry-After holds a read's buckets for, as a send's first retry would wait. */
const readHoldBackoff: RetryPolicy = Object.freeze({ maxAttempts: 6, maxTotalMs: 120_000, baseMs: 500, capMs: 30_000 });

/**
 * The bot's reads of Teams (a member's name, a team's channels), paced as sends are: each takes
 * the tenant's and the conversation's rate-limit buckets first (installing for a whole tenant
 * reads thousands of names at once), and a 429 holds them for every sender, sends of the tenant
 * included. A read is not retried: its caller does without (a welcome goes without the name).
 * Everything the bot says goes through the durable engine instead (durable-replies.ts).
 */
export function pacedReads(deps: PacedReadsDeps): BotReads {
  const random = deps.random ?? Math.random;

  async function acquire(keys: readonly BucketKey[]): Promise<void> {
    for (;;) {
      const wait = await deps.limiter.tryAcquire(keys, deps.clock.now());
      if (wait <= 0) return;
      await deps.clock.sleep(wait, deps.signal);
    }
  }

  /**
   * A read: its buckets first, as a send's. A 429 holds them until throttledUntil says, for every
   * sender (sends of the tenant included), as a send's 429 does; the error then goes to the
   * caller. Before, a read's 429 held nothing, and a tenant's other reads (an install of many
   * people at once) went on at full rate through the Retry-After.
   */
  async function read<T>(keys: readonly BucketKey[], call: () => Promise<T>): Promise<T> {
    await acquire(keys);
    try {
      return await call();
    } catch (e) {
      const until = throttledUntil(e, deps.clock.now());
      // The caller gets the 429 whatever the limiter does (a Redis limiter may be down).
      if (until !== undefined)
        await holdAfter429(
          deps.limiter,
          keys.map((k) => k.key),
          until,
          deps.logger,
        );
      throw e;
    }
  }

  /**
   * Until when a read's 429 holds its buckets: its Retry-After however long, up to 30 minutes
   * (retryAfterHold), else the backoff a send's first retry would wait. Undefined for any other
   * failure, and for a 429 of the token endpoint (the credentials' matter, not the tenant's).
   */
  function throttledUntil(e: unknown, now: number): number | undefined {
    if (!isTeams429(e)) return undefined;
    const held = retryAfterHold(e, now);
    if (held !== undefined) return held;
    const verdict = judge(e, { attempt: 1, firstAttemptAt: now, now }, random, readHoldBackoff, {
      step: "send",
      inFlightPolicy: "unknown",
    });
    return verdict.kind === "retry" && verdict.throttled ? now + verdict.delayMs : undefined;
  }

  return {
    async member(serviceUrl, conversationId, userId, tenantId) {
      const tenant = tenantBucket(deps.policies, tenantId);
      const keys = [conversationBucket(deps.policies, "read", conversationId), ...(tenant ? [tenant] : [])];
      const m = await read(keys, () => deps.connector.getMember(serviceUrl, conversationId, userId, deps.signal));
      return { id: m.id, name: m.name ?? undefined, aadObjectId: m.aadObjectId ?? undefined };
    },
    async teamChannels(serviceUrl, teamId) {
      return read([conversationBucket(deps.policies, "read", teamId)], () =>
        deps.connector.getTeamChannels(serviceUrl, teamId, deps.signal),
      );
    },
    async channelName(serviceUrl, teamId, channelId) {
      const channels = await read([conversationBucket(deps.policies, "read", teamId)], () =>
        deps.connector.getTeamChannels(serviceUrl, teamId, deps.signal),
      );
      const found = channels.find((c) => c.id === channelId);
      return found ? (found.name ?? "General") : undefined;
    },
  };
}
