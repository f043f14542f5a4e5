import type { Clock } from "../clock.js";
import type { ConnectorClient, OutgoingActivity } from "../connector/client.js";
import { ConnectorError } from "../connector/errors.js";
import { judge } from "../delivery/dispatch/outcome.js";
import type { BucketKey, RateLimiter } from "../delivery/limits/index.js";
import { conversationBucket, type Policies, tenantBucket } from "../delivery/policies.js";
import { defaultRetryPolicy, type RetryPolicy } from "../delivery/retry.js";
import type { BotReplies } from "../inbound/handler.js";
import type { OutgoingMessage } from "../inbound/messages.js";
import type { Logger } from "../log.js";
import type { ConversationStore } from "../store/ports.js";

/** What pacedReplies needs; the composition root passes the delivery engine's limiter and policies. */
export interface PacedRepliesDeps {
  connector: ConnectorClient;
  /** The delivery engine's limiter and policies: replies share the tenant's and conversation's budget with broadcasts. */
  limiter: RateLimiter;
  policies: Policies;
  conversations: ConversationStore;
  clock: Clock;
  logger: Logger;
  random?: () => number;
  /** Aborted at shutdown: waits and retries stop at once. */
  signal?: AbortSignal;
}

/** Retries of a reply: 6 attempts within 2 minutes, backoff from 0.5 s up to 30 s. */
const replyRetry: RetryPolicy = Object.freeze({ maxAttempts: 6, maxTotalMs: 120_000, baseMs: 500, capMs: 30_000 });

/**
 * Interactive replies (welcome messages, answers to commands) are not durable, but they obey
 * the same rules as deliveries: each request takes the tenant's and the conversation's rate-limit
 * buckets first (installing for a whole tenant makes thousands of welcomes at once), transient
 * failures are retried per the retry table (429 waits exactly its Retry-After), and a blocked or
 * uninstalled answer updates the conversation. Bounds: 6 attempts within 2 minutes.
 */
export function pacedReplies(deps: PacedRepliesDeps): BotReplies {
  const random = deps.random ?? Math.random;

  async function acquire(keys: readonly BucketKey[]): Promise<void> {
    for (;;) {
      const wait = await deps.limiter.tryAcquire(keys, deps.clock.now());
      if (wait <= 0) return;
      await deps.clock.sleep(wait, deps.signal);
    }
  }

  /**
   * A read (a member's name, a team's channels): its buckets first, as a send's. A 429 holds them
   * until Retry-After for every sender (sends of the tenant included), as a send's 429 does; the
   * error then goes to the caller, which does without (a welcome goes without the name). Before,
   * a read's 429 held nothing, and a tenant's other reads (an install of many people at once)
   * went on at full rate through the Retry-After.
   */
  async function read<T>(keys: readonly BucketKey[], call: () => Promise<T>): Promise<T> {
    await acquire(keys);
    try {
      return await call();
    } catch (e) {
      await holdIfThrottled(keys, e);
      throw e;
    }
  }

  /** A 429 holds `keys` for every sender until throttledUntil says; any other failure holds nothing. */
  async function holdIfThrottled(keys: readonly BucketKey[], e: unknown): Promise<void> {
    const until = throttledUntil(e, deps.clock.now());
    if (until !== undefined) await Promise.all(keys.map((k) => deps.limiter.block(k.key, until)));
  }

  /**
   * Until when a 429 that ends a read or a reply holds its buckets: its Retry-After, however long,
   * up to what the dispatcher's sends wait at most (defaultRetryPolicy.maxTotalMs, 30 min), else
   * the backoff judge gives a 429 without one. (Judged with the replies' 2-minute budget, a longer
   * Retry-After came back as a final failure and held nothing.) Undefined for any other failure.
   */
  function throttledUntil(e: unknown, now: number): number | undefined {
    if (!(e instanceof ConnectorError) || e.status !== 429) return undefined;
    if (e.retryAfterMs !== undefined) return now + Math.min(e.retryAfterMs, defaultRetryPolicy.maxTotalMs);
    // The reads' step is judged as a send's: a GET's 429 is classified the same way.
    const verdict = judge(e, { attempt: 1, firstAttemptAt: now, now }, random, replyRetry, { step: "send", inFlightPolicy: "unknown" });
    return verdict.kind === "retry" && verdict.throttled ? now + verdict.delayMs : undefined;
  }

  async function sendOne(serviceUrl: string, conversationId: string, tenantId: string, activity: OutgoingActivity): Promise<void> {
    const tenant = tenantBucket(deps.policies, tenantId);
    const keys = [conversationBucket(deps.policies, "send", conversationId), ...(tenant ? [tenant] : [])];
    const firstAttemptAt = deps.clock.now();
    for (let attempt = 1; ; attempt++) {
      await acquire(keys);
      try {
        await deps.connector.sendToConversation(serviceUrl, conversationId, activity, deps.signal);
        return;
      } catch (e) {
        // A welcome or a command's answer is never sent twice: one that may have reached Teams
        // (reset or timed out after it was written) is not retried, whatever HERALD_IN_FLIGHT_POLICY says.
        const verdict = judge(e, { attempt, firstAttemptAt, now: deps.clock.now() }, random, replyRetry, {
          step: "send",
          inFlightPolicy: "unknown",
        });
        if (verdict.kind === "unknown") {
          deps.logger.warn(
            { conversationId, tenantId, code: verdict.error.code },
            "reply may have reached Teams without an answer: not sent again",
          );
          return;
        }
        if (verdict.kind === "retry") {
          // A 429 does not say whose limit it was; a welcome is the only message of its conversation,
          // so it is the tenant's: hold both buckets for every sender until Retry-After.
          if (verdict.throttled) await Promise.all(keys.map((k) => deps.limiter.block(k.key, deps.clock.now() + verdict.delayMs)));
          await deps.clock.sleep(verdict.delayMs, deps.signal);
          continue;
        }
        if (verdict.kind === "blocked" || verdict.kind === "notFound") {
          // An expected answer, not a fault: record it on the conversation (the blocked report shows it).
          const status = verdict.kind === "blocked" ? "blocked" : "uninstalled";
          const id = conversationId.split(";messageid=")[0] ?? conversationId;
          await deps.conversations.setStatus(id, status, verdict.error.code, new Date(deps.clock.now()).toISOString());
          deps.logger.info(
            { conversationId: id, tenantId, status, code: verdict.error.code },
            "reply not delivered: the user blocked or removed the bot",
          );
          return;
        }
        // Given up (a Retry-After past the replies' 2-minute budget among them): the reply is not
        // sent, but a 429 still holds the tenant for every sender, as a read's does.
        await holdIfThrottled(keys, e);
        throw e;
      }
    }
  }

  return {
    async send(serviceUrl, conversationId, message: OutgoingMessage, tenantId) {
      // Text and card go as separate activities: Teams splits a mixed one and returns no id.
      if (message.text)
        await sendOne(serviceUrl, conversationId, tenantId, { type: "message", text: message.text, textFormat: "markdown" });
      if (message.card) {
        await sendOne(serviceUrl, conversationId, tenantId, {
          type: "message",
          attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: message.card }],
        });
      }
    },
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
