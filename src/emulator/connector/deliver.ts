import type { EmulatorContext } from "../context.js";
import { C } from "../store/counters.js";
import { Count, type MessageRecord } from "../store/messages.js";
import type { ConversationRef } from "./conversation.js";

/** Result of storing a bot's activity: the id returned to the bot (none when Teams split it). */
export interface Delivered {
  id: string | undefined;
  split: boolean;
}

function hasText(a: Record<string, unknown>): boolean {
  return typeof a["text"] === "string" && a["text"].length > 0;
}

function hasAttachments(a: Record<string, unknown>): boolean {
  return Array.isArray(a["attachments"]) && a["attachments"].length > 0;
}

/** Count key of a conversation: user index for 1:1 chats, else the channel or chat id. */
export function countKey(ref: ConversationRef): number | string {
  return ref.kind === "personal" ? ref.user : ref.id;
}

/**
 * Put a bot's activity into the conversation as a user would see it. Text and attachments in
 * one message are split into two messages and no id is returned, as Teams does. In a channel,
 * a send to the channel starts a thread (its root id is the new id); a send to a thread or a
 * reply to a known post joins that thread. Typing indicators are not stored.
 */
export function deliver(
  ctx: EmulatorContext,
  ref: ConversationRef,
  activity: Record<string, unknown>,
  json: string,
  replyTo: string | undefined,
  now = ctx.clock.now(),
): Delivered {
  const type = activity["type"];
  if (type === "typing") return { id: undefined, split: false };
  ctx.counters.inc(ref.tenant, C.sends);
  const key = countKey(ref);
  if (type === "message" && hasText(activity) && hasAttachments(activity)) {
    ctx.counters.inc(ref.tenant, C.splitMessages);
    const { attachments, ...textPart } = activity;
    const { text, ...cardPart } = activity;
    store(ctx, ref, JSON.stringify(textPart), replyTo, now, true);
    store(ctx, ref, JSON.stringify(cardPart), replyTo, now, true);
    ctx.counts.inc(key, Count.received);
    ctx.counts.inc(key, Count.received);
    return { id: undefined, split: true };
  }
  const id = store(ctx, ref, json, replyTo, now, false);
  ctx.counts.inc(key, Count.received);
  return { id, split: false };
}

function store(ctx: EmulatorContext, ref: ConversationRef, json: string, replyTo: string | undefined, now: number, split: boolean): string {
  const id = ctx.activityIds.next(now);
  if (ctx.messages.caps.globalCap > 0) {
    let threadId: string | undefined;
    if (ref.kind === "channel") threadId = ref.thread ?? (replyTo && ctx.activityIds.issued(replyTo) ? replyTo : id);
    const record: MessageRecord = {
      id,
      conversationId: ref.id,
      threadId,
      from: "bot",
      user: ref.kind === "personal" ? ref.user : -1,
      activity: json,
      createdAt: now,
      updatedAt: undefined,
      deletedAt: undefined,
      split,
      history: undefined,
      live: true,
    };
    ctx.messages.add(record);
  }
  return id;
}

/** Store what a user wrote (for the inspection API and the chat page) under a given id. */
export function storeUserMessage(
  ctx: EmulatorContext,
  ref: ConversationRef,
  user: number,
  id: string,
  activity: unknown,
  threadId: string | undefined,
): void {
  if (ctx.messages.caps.globalCap <= 0) return;
  ctx.messages.add({
    id,
    conversationId: ref.id,
    threadId: ref.kind === "channel" ? (threadId ?? id) : undefined,
    from: "user",
    user,
    activity: JSON.stringify(activity),
    createdAt: ctx.clock.now(),
    updatedAt: undefined,
    deletedAt: undefined,
    split: false,
    history: undefined,
    live: true,
  });
}
