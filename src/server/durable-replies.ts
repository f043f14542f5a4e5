import { randomUUID } from "node:crypto";
import type { DeliveryEngine } from "../delivery/engine.js";
import type { Message } from "../delivery/message/schema.js";
import type { BotReads, BotReplies } from "../inbound/handler.js";
import type { OutgoingMessage } from "../inbound/messages.js";
import type { Logger } from "../log.js";
import type { Counter } from "../observability/metrics.js";

/** The kinds of the bot's own messages, as the `kind` label of herald_replies_total (a bounded set). */
const replyKinds = new Set(["welcome", "answer", "submit", "survey"]);

/** A reply's kind from its idempotency key (`welcome:<activity id>` → `welcome`). */
export function replyKind(key: string): string {
  const kind = key.slice(0, key.indexOf(":"));
  return replyKinds.has(kind) ? kind : "other";
}

/** The bot's OutgoingMessage as a notification message: text and card become one card, as a notification's would. */
export function toMessage(message: OutgoingMessage): Message {
  const out: Message = {};
  if (message.text) out.text = message.text;
  if (message.card) out.card = message.card as Message["card"];
  return out;
}

/**
 * BotReplies whose `send` goes through the durable delivery engine (engine.reply): each welcome
 * or answer is a stored row before the activity that caused it is answered, so a crash loses
 * none, and a redelivered activity (same id, same key) replies once. The reads (member, channel
 * name) are not messages: they stay with `reads` (pacedReads), paced on the same buckets.
 */
export function durableReplies(deps: {
  engine: DeliveryEngine;
  reads: BotReads;
  replies: Counter;
  logger: Logger;
  /** Aborted at shutdown: `settle` stops waiting. */
  signal?: AbortSignal;
  /** False in a process without the engine (the workers send): `settle` does not wait. */
  sending?: boolean;
  /** A reply of `kind` was stored as this notification (awaited before `send` resolves): the welcome tracker and holds follow it. */
  onStored?: (conversationId: string, notificationId: string, kind: string) => void | Promise<void>;
}): BotReplies {
  /** Replies this process stored that may not be final yet (for `settle`). */
  const unsettled = new Set<string>();
  return {
    async settle() {
      if (deps.sending === false) return;
      const deadline = Date.now() + 60_000;
      while (unsettled.size > 0 && !deps.signal?.aborted && Date.now() < deadline) {
        for (const id of [...unsettled]) {
          const n = await deps.engine.get(id);
          if (!n?.active) unsettled.delete(id);
        }
        if (unsettled.size > 0) await new Promise((r) => setTimeout(r, 20));
      }
    },
    async send(serviceUrl, conversationId, message, tenantId, key) {
      // No key (an activity without an id): a fresh one, sent once.
      const k = key ?? `other:${randomUUID()}`;
      const kind = replyKind(k);
      try {
        const { notification, created } = await deps.engine.reply({
          key: k,
          tenantId,
          conversationId,
          serviceUrl,
          message: toMessage(message),
        });
        if (created) unsettled.add(notification.id);
        // The reply is stored and will be sent: what follows it (the welcome's hold) failing must not
        // make it look unsent (the handler would end the hold of a welcome still to come).
        await Promise.resolve(deps.onStored?.(conversationId, notification.id, kind)).catch((e: unknown) =>
          deps.logger.warn({ err: e instanceof Error ? e.message : e, conversationId }, "reply stored; what follows it failed"),
        );
        deps.replies.inc({ kind, result: created ? "stored" : "duplicate" });
      } catch (e) {
        deps.replies.inc({ kind, result: "failed" });
        throw e;
      }
    },
    member: (...args) => deps.reads.member(...args),
    channelName: (...args) => deps.reads.channelName(...args),
    teamChannels: async (serviceUrl, teamId) => (await deps.reads.teamChannels?.(serviceUrl, teamId)) ?? [],
  };
}
