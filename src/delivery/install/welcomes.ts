import type { Clock } from "../../clock.js";

/**
 * This process's view of the bot's replies (the welcome an install triggers is the first): the
 * fast path beside the welcome holds every process shares (WelcomeStore, 021). The lane asks
 * `holds` before each send (rows claimed before the install event held the chat in the store),
 * and a wait that looks at the store (welcomeFirst) naps with `nap`, woken at once when this
 * process stores or sends a reply.
 */
export class WelcomeTracker {
  /** conversation id → the notification of its last stored reply and when it was stored, bounded. */
  private readonly replies = new Map<string, { id: string; at: number }>();
  /** Replies' notifications this process saw finish (bounded). */
  private readonly finals = new Map<string, true>();
  /** A stored reply's notification → its conversation (bounded): `settled` forgets the replies that went. */
  private readonly replyConversation = new Map<string, string>();
  /** Conversations whose held reply is being looked up in the store (`holds`), one look at a time. */
  private readonly looking = new Set<string>();
  /** Waits in `nap`, by conversation: woken by a reply stored there or sent. */
  private readonly nappers = new Map<string, Set<() => void>>();
  /** Whether a stored reply's notification is final (sent or failed); unset: no reply is ever pending. */
  isFinal: ((notificationId: string) => Promise<boolean>) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly cap = 10_000,
  ) {}

  /**
   * A reply to `conversationId` was stored as notification `notificationId` (durable replies,
   * before the inbound activity is answered): wakes the naps on that conversation.
   */
  stored(conversationId: string, notificationId: string): void {
    remember(this.replies, conversationId, { id: notificationId, at: this.clock.now() }, this.cap);
    remember(this.replyConversation, notificationId, conversationId, this.cap);
    this.wake(conversationId);
  }

  /**
   * Notifications this process's engine finished (sent or failed): wakes the naps on their
   * conversations at once, so a message goes right after its welcome instead of at the next look.
   */
  settled(notificationIds: readonly string[]): void {
    for (const id of notificationIds) {
      const conversationId = this.replyConversation.get(id);
      if (conversationId === undefined) continue; // not a reply this process stored
      remember(this.finals, id, true, this.cap);
      // A reply this process stored went: nothing waits for it any more (`holds`, `pendingReply`).
      this.replyConversation.delete(id);
      if (this.replies.get(conversationId)?.id === id) this.replies.delete(conversationId);
      this.wake(conversationId);
    }
  }

  /**
   * Resolves after `ms`, or sooner when a reply to `conversationId` is stored or sent in this
   * process (or `signal` aborts): a wait that looks at the store now and then (welcomeFirst)
   * moves on at once for this process's own welcomes.
   */
  nap(conversationId: string, ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let set = this.nappers.get(conversationId);
      if (!set) {
        set = new Set();
        this.nappers.set(conversationId, set);
      }
      const own = set;
      const end = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", end);
        own.delete(end);
        if (own.size === 0 && this.nappers.get(conversationId) === own) this.nappers.delete(conversationId);
        resolve();
      };
      const timer = setTimeout(end, ms);
      timer.unref?.();
      own.add(end);
      signal?.addEventListener("abort", end, { once: true });
    });
  }

  private wake(conversationId: string): void {
    const set = this.nappers.get(conversationId);
    if (set) for (const end of [...set]) end();
  }

  /**
   * Whether a message of `notificationId` into `conversationId` must wait: another reply stored
   * there (the welcome of an install) was not seen sent yet, stored less than `maxAgeMs` ago.
   * Any notification's row, not only the install step's: a notification whose row was written
   * after the install event stored the chat sends to it like to any known chat, and overtook the
   * welcome (test/reach/welcome-overtaken). Synchronous (asked before every send): a reply this
   * process's engine sent is forgotten by `settled`; one another process sent is looked up in the
   * store in the background, one look per conversation at a time.
   */
  holds(conversationId: string, notificationId: string, maxAgeMs: number): boolean {
    const reply = this.replies.get(conversationId);
    if (reply === undefined || reply.id === notificationId) return false;
    if (this.finals.has(reply.id) || this.clock.now() - reply.at >= maxAgeMs) {
      if (this.replies.get(conversationId) === reply) this.replies.delete(conversationId);
      return false;
    }
    if (!this.looking.has(conversationId)) {
      this.looking.add(conversationId);
      void this.pendingReply(conversationId, maxAgeMs).finally(() => this.looking.delete(conversationId));
    }
    return true;
  }

  /**
   * Whether the last reply stored for `conversationId` (a welcome) is still waiting to be sent
   * (asked by `sent` and, in the background, by `holds`): final by `settled`, else by a look at
   * the store. Forgotten once final, or after `maxAgeMs` (a reply that never leaves must not hold
   * the message back for ever).
   */
  async pendingReply(conversationId: string, maxAgeMs: number): Promise<boolean> {
    const reply = this.replies.get(conversationId);
    const isFinal = this.isFinal;
    if (reply === undefined || isFinal === undefined) return false;
    if (this.clock.now() - reply.at >= maxAgeMs || this.finals.has(reply.id) || (await isFinal(reply.id).catch(() => false))) {
      if (this.replies.get(conversationId) === reply) this.replies.delete(conversationId);
      return false;
    }
    return true;
  }
}

/** Set `key` as the newest entry of `map`, dropping the oldest beyond `cap`. */
export function remember<V>(map: Map<string, V>, key: string, value: V, cap: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > cap) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}
