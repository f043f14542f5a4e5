/**
 * What each conversation received, in bounded memory: bodies are kept in a global ring of
 * `globalCap` records (the oldest is forgotten first) and at most `conversationCap` per
 * conversation; each message keeps at most `historyCap` earlier versions. Counts per
 * conversation are kept separately and never forgotten (see ConversationCounts).
 */
export interface HistoryEntry {
  at: number;
  kind: "update" | "delete" | "refresh";
  /** The activity JSON before this change. */
  previous: string;
}

export interface MessageRecord {
  /** Activity id; for split messages an id the bot never learned. */
  id: string;
  /** Conversation the user sees it in: 1:1 chat, channel or group chat id. */
  conversationId: string;
  /** Root activity id of the channel thread it belongs to (channel messages only). */
  threadId: string | undefined;
  from: "bot" | "user";
  /** User index of a user's message. */
  user: number;
  /** The activity as JSON text (parsed only when inspected). */
  activity: string;
  createdAt: number;
  updatedAt: number | undefined;
  deletedAt: number | undefined;
  /** True when Teams split text + attachment and returned no id. */
  split: boolean;
  history: HistoryEntry[] | undefined;
  /** False once forgotten (evicted by a cap). */
  live: boolean;
}

/** A change a watcher (e.g. a live chat page) is told about. */
export interface MessageEvent {
  kind: "add" | HistoryEntry["kind"];
  record: MessageRecord;
}

export interface MessageCaps {
  globalCap: number;
  conversationCap: number;
  historyCap: number;
}

export class MessageStore {
  private readonly ring: (MessageRecord | undefined)[];
  private pos = 0;
  private readonly byConversation = new Map<string, MessageRecord[]>();
  private stored = 0;
  private readonly watchers = new Set<(event: MessageEvent) => void>();

  constructor(readonly caps: MessageCaps) {
    this.ring = new Array(Math.max(0, caps.globalCap));
  }

  /** Keep a message body (or drop it at once when caps are 0). */
  add(record: MessageRecord): void {
    if (this.caps.globalCap <= 0 || this.caps.conversationCap <= 0) {
      record.live = false;
      return;
    }
    const old = this.ring[this.pos];
    if (old?.live) this.forget(old);
    this.ring[this.pos] = record;
    this.pos = (this.pos + 1) % this.ring.length;
    let list = this.byConversation.get(record.conversationId);
    if (!list) {
      list = [];
      this.byConversation.set(record.conversationId, list);
    }
    list.push(record);
    this.stored++;
    if (list.length > this.caps.conversationCap) {
      const first = list.shift()!;
      first.live = false;
      this.stored--;
    }
    if (this.watchers.size > 0) this.notify({ kind: "add", record });
  }

  /** Be told of every kept message and change; returns the function that stops it. */
  watch(fn: (event: MessageEvent) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  private notify(event: MessageEvent): void {
    for (const fn of this.watchers) {
      try {
        fn(event);
      } catch {
        // A failing watcher must not break the Connector.
      }
    }
  }

  private forget(record: MessageRecord): void {
    record.live = false;
    this.stored--;
    const list = this.byConversation.get(record.conversationId);
    if (!list) return;
    const i = list.indexOf(record);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byConversation.delete(record.conversationId);
  }

  /** A kept message of a conversation by activity id. */
  find(conversationId: string, id: string): MessageRecord | undefined {
    const list = this.byConversation.get(conversationId);
    if (!list) return undefined;
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.id === id) return list[i];
    return undefined;
  }

  /** Record a change of a kept message, keeping at most historyCap earlier versions. */
  change(record: MessageRecord, kind: HistoryEntry["kind"], at: number, activity: string | undefined): void {
    if (!record.history) record.history = [];
    const history = record.history;
    history.push({ at, kind, previous: record.activity });
    if (history.length > this.caps.historyCap) history.shift();
    if (activity !== undefined) record.activity = activity;
    if (kind === "delete") record.deletedAt = at;
    else record.updatedAt = at;
    if (this.watchers.size > 0) this.notify({ kind, record });
  }

  /** Kept messages of a conversation, oldest first. */
  list(conversationId: string): readonly MessageRecord[] {
    return this.byConversation.get(conversationId) ?? [];
  }

  /** Conversations that have kept messages. */
  conversationIds(): IterableIterator<string> {
    return this.byConversation.keys();
  }

  /** Bodies currently kept. */
  get size(): number {
    return this.stored;
  }

  get conversations(): number {
    return this.byConversation.size;
  }
}

/**
 * Per-conversation counts (received, updated, deleted) that are never evicted: 1:1 chats in
 * typed arrays indexed by user (allocated on first use: 12 bytes per user), channels and group
 * chats in a Map (few; channel threads count toward their channel).
 */
export class ConversationCounts {
  private personal: Uint32Array | undefined;
  private readonly others = new Map<string, Uint32Array>();

  constructor(private readonly userCount: number) {}

  inc(key: number | string, kind: 0 | 1 | 2): void {
    if (typeof key === "number") {
      this.personal ??= new Uint32Array(this.userCount * 3);
      this.personal[key * 3 + kind]!++;
      return;
    }
    let row = this.others.get(key);
    if (!row) {
      row = new Uint32Array(3);
      this.others.set(key, row);
    }
    row[kind]!++;
  }

  get(key: number | string): { received: number; updated: number; deleted: number } {
    const row = typeof key === "number" ? this.personal?.subarray(key * 3, key * 3 + 3) : this.others.get(key);
    return { received: row?.[0] ?? 0, updated: row?.[1] ?? 0, deleted: row?.[2] ?? 0 };
  }
}

export const Count = { received: 0, updated: 1, deleted: 2 } as const;
