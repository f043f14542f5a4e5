import type { Clock } from "../../clock.js";

/** How often a wait for a reply's send looks at the store too (a reply another process sends), in ms. */
const SENT_RECHECK_MS = 250;

/**
 * Which conversations just had a reply from the bot endpoint (the welcome an install triggers is
 * the first), so the install step can send the notification only after the welcome: the person
 * sees the welcome, then the message. Replies are durable (a stored row the engine sends later,
 * server/durable-replies.ts): the install step waits for the welcome to be stored (`wait`), then
 * for it to be sent (`sent`: woken by `settled` when this process's engine finished it, or by a
 * look at the store), or the message could overtake the welcome. The welcome is seen stored only
 * in the process whose bot endpoint took the install event: another process waits `timeoutMs`
 * instead (see Installer).
 */
export class WelcomeTracker {
  /** conversation id → when its last reply was stored, bounded. */
  private readonly storedAt = new Map<string, number>();
  /** conversation id → the notification of its last stored reply and when it was stored, bounded. */
  private readonly replies = new Map<string, { id: string; at: number }>();
  private readonly waiters = new Map<string, Set<() => void>>();
  /** Replies' notifications this process saw finish (bounded), and the waits for them. */
  private readonly finals = new Map<string, true>();
  private readonly finalWaiters = new Map<string, Set<() => void>>();
  /** A stored reply's notification → its conversation (bounded): `settled` forgets the replies that went. */
  private readonly replyConversation = new Map<string, string>();
  /** Conversations whose held reply is being looked up in the store (`holds`), one look at a time. */
  private readonly looking = new Set<string>();
  /** Whether a stored reply's notification is final (sent or failed); unset: no reply is ever pending. */
  isFinal: ((notificationId: string) => Promise<boolean>) | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly cap = 10_000,
  ) {}

  /**
   * A reply to `conversationId` was stored as notification `notificationId` (durable replies,
   * before the inbound activity is answered): wakes the install step waiting for it.
   */
  stored(conversationId: string, notificationId: string): void {
    remember(this.replies, conversationId, { id: notificationId, at: this.clock.now() }, this.cap);
    remember(this.storedAt, conversationId, this.clock.now(), this.cap);
    remember(this.replyConversation, notificationId, conversationId, this.cap);
    const ws = this.waiters.get(conversationId);
    if (ws) {
      this.waiters.delete(conversationId);
      for (const w of ws) w();
    }
  }

  /**
   * Notifications this process's engine finished (sent or failed): wakes the waits in `sent`
   * at once, so a message goes right after its welcome instead of at the next look.
   */
  settled(notificationIds: readonly string[]): void {
    for (const id of notificationIds) {
      const conversationId = this.replyConversation.get(id);
      const ws = this.finalWaiters.get(id);
      if (conversationId === undefined && ws === undefined) continue; // not a reply of ours, nor one anyone waits for
      remember(this.finals, id, true, this.cap);
      if (conversationId !== undefined) {
        // A reply this process stored went: nothing waits for it any more (`holds`, `sent`).
        this.replyConversation.delete(id);
        if (this.replies.get(conversationId)?.id === id) this.replies.delete(conversationId);
      }
      if (ws === undefined) continue;
      this.finalWaiters.delete(id);
      for (const w of ws) w();
    }
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
   * Resolves once the last reply stored for `conversationId` is no longer pending (see
   * `pendingReply`): woken by `settled` when this process sent it, and looking at the store
   * every SENT_RECHECK_MS as well (another process may send it). At most `maxAgeMs` after the
   * reply was stored; at once when `signal` aborts.
   */
  async sent(conversationId: string, maxAgeMs: number, signal?: AbortSignal): Promise<void> {
    while (!signal?.aborted) {
      const reply = this.replies.get(conversationId);
      if (reply === undefined) return;
      // Listen before looking, so a `settled` between the look and the wait is not missed.
      const nap = this.napUntilSettled(reply.id, SENT_RECHECK_MS, signal);
      if (!(await this.pendingReply(conversationId, maxAgeMs))) {
        nap.cancel();
        return;
      }
      await nap.done;
    }
  }

  private napUntilSettled(id: string, ms: number, signal: AbortSignal | undefined): { done: Promise<void>; cancel: () => void } {
    let cancel: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      let ws = this.finalWaiters.get(id);
      if (!ws) {
        ws = new Set();
        this.finalWaiters.set(id, ws);
      }
      const set = ws;
      const end = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", end);
        set.delete(end);
        if (set.size === 0 && this.finalWaiters.get(id) === set) this.finalWaiters.delete(id);
        resolve();
      };
      const timer = setTimeout(end, ms);
      timer.unref?.();
      set.add(end);
      signal?.addEventListener("abort", end, { once: true });
      cancel = end;
    });
    return { done, cancel };
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

  /**
   * Resolves true once a reply to `conversationId` was stored at or after `since`,
   * false after `timeoutMs` (or when `signal` aborts).
   */
  wait(conversationId: string, since: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const at = this.storedAt.get(conversationId);
    if (at !== undefined && at >= since) return Promise.resolve(true);
    if (timeoutMs <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let ws = this.waiters.get(conversationId);
      if (!ws) {
        ws = new Set();
        this.waiters.set(conversationId, ws);
      }
      const done = (ok: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        // The set goes with its last waiter: an install whose welcome this process never sees
        // (another process's bot endpoint took the event) must leave nothing behind.
        const ws = this.waiters.get(conversationId);
        ws?.delete(wake);
        if (ws?.size === 0) this.waiters.delete(conversationId);
        resolve(ok);
      };
      const wake = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      timer.unref?.();
      ws.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
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
