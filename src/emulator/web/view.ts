import type { ConversationRef } from "../connector/conversation.js";
import type { EmulatorContext } from "../context.js";
import type { MessageRecord } from "../store/messages.js";

/** A message as the chat page shows it (no history, no raw activity beyond what is drawn). */
export interface MessageView {
  id: string;
  from: "bot" | "user";
  fromName: string;
  threadId: string | null;
  createdAt: string;
  /** Set once the message was updated (or its card refreshed): the page shows "Edited". */
  editedAt: string | null;
  /** Set once deleted: the page shows "This message has been deleted". */
  deletedAt: string | null;
  /** True when Teams split text + attachment (the bot never learned this id). */
  split: boolean;
  text: string | null;
  textFormat: string;
  summary: string | null;
  attachments: { contentType: string; content: unknown; name?: string }[];
}

/** What the page shows above the messages. */
export interface ConversationView {
  id: string;
  kind: ConversationRef["kind"];
  /** For a channel thread: the root activity id. */
  thread: string | null;
  title: string;
  subtitle: string;
  tenantId: string;
  /** For a 1:1 chat: the user (Teams id), so the page can write and press buttons as them. */
  userId: string | null;
  userName: string | null;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function parse(json: string): Record<string, unknown> {
  try {
    return record(JSON.parse(json)) ?? {};
  } catch {
    return {};
  }
}

/**
 * Whether Teams would mark the message "Edited": the bot updated it. A card refreshed by an
 * Action.Execute answer is not an edit; when no history is kept, any change counts.
 */
function edited(m: MessageRecord): boolean {
  if (m.updatedAt === undefined) return false;
  if (!m.history || m.history.length === 0) return true;
  return m.history.some((h) => h.kind === "update");
}

/** The view of a kept message; `botName` names the bot's messages. */
export function messageView(m: MessageRecord, botName: string): MessageView {
  const deleted = m.deletedAt !== undefined;
  const a = deleted ? {} : parse(m.activity);
  const from = record(a["from"]);
  const attachments = Array.isArray(a["attachments"])
    ? a["attachments"].flatMap((x) => {
        const att = record(x);
        if (!att || typeof att["contentType"] !== "string") return [];
        const view: MessageView["attachments"][number] = { contentType: att["contentType"], content: att["content"] ?? null };
        if (typeof att["name"] === "string") view.name = att["name"];
        return [view];
      })
    : [];
  return {
    id: m.id,
    from: m.from,
    fromName: m.from === "bot" ? botName : typeof from?.["name"] === "string" ? from["name"] : "User",
    threadId: m.threadId ?? null,
    createdAt: new Date(m.createdAt).toISOString(),
    editedAt: edited(m) ? new Date(m.updatedAt!).toISOString() : null,
    deletedAt: deleted ? new Date(m.deletedAt!).toISOString() : null,
    split: m.split,
    text: typeof a["text"] === "string" ? a["text"] : null,
    textFormat: typeof a["textFormat"] === "string" ? a["textFormat"] : "markdown",
    summary: typeof a["summary"] === "string" ? a["summary"] : null,
    attachments,
  };
}

/** Whether a kept message belongs to what the page shows (a conversation, or one channel thread). */
export function belongs(ref: ConversationRef, m: MessageRecord): boolean {
  return m.conversationId === ref.id && (ref.thread === undefined || m.threadId === ref.thread);
}

/** Title and names of a conversation for the page header. */
export function conversationView(ctx: EmulatorContext, ref: ConversationRef): ConversationView {
  const tenant = ctx.org.tenants[ref.tenant]!;
  const base = { id: ref.id, kind: ref.kind, thread: ref.thread ?? null, tenantId: tenant.id, userId: null, userName: null };
  if (ref.kind === "personal") {
    const u = ctx.org.user(ref.user);
    return {
      ...base,
      title: u.name,
      subtitle: `Chat with ${ctx.options.botName} · ${u.userPrincipalName} · ${tenant.name}`,
      userId: u.id,
      userName: u.name,
    };
  }
  if (ref.kind === "chat") {
    return { ...base, title: ref.chat.topic ?? "Group chat", subtitle: `${ref.chat.memberCount} people · ${tenant.name}` };
  }
  const thread = ref.thread ? ` · thread ${ref.thread}` : "";
  return {
    ...base,
    title: `${ref.team.name} › ${ref.channel.name}`,
    subtitle: `${ctx.state.rosters.count(ref.team.index)} members · ${tenant.name}${thread}`,
  };
}
