import type { Clock } from "../../clock.js";

/**
 * Which conversations just had a reply from the bot endpoint (the welcome an install triggers is
 * the first), so the install step can send the notification only after the welcome: the person
 * sees the welcome, then the message. Replies are durable (a stored row the engine sends later,
 * server/durable-replies.ts): the install step waits for the welcome to be stored (`wait`), then
 * releases its row while that welcome is still unsent (`pendingReply`), or the message could
 * overtake the welcome. In-process only: a Herald whose bot endpoint runs in another process
 * waits `timeoutMs` instead (see Installer).
 */
export class WelcomeTracker {
  /** conversation id → when its last reply was stored, bounded. */
  private readonly storedAt = new Map<string, number>();
  /** conversation id → the notification of its last stored reply and when it was stored, bounded. */
  private readonly replies = new Map<string, { id: string; at: number }>();
  private readonly waiters = new Map<string, Set<() => void>>();
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
    const ws = this.waiters.get(conversationId);
    if (ws) {
      this.waiters.delete(conversationId);
      for (const w of ws) w();
    }
  }

  /**
   * Whether the last reply stored for `conversationId` (a welcome) is still waiting to be sent:
   * the install step then releases its row for a moment instead of holding a send slot, so the
   * welcome goes first. Forgotten once final, or after `maxAgeMs` (a reply that never leaves must
   * not hold the message back for ever).
   */
  async pendingReply(conversationId: string, maxAgeMs: number): Promise<boolean> {
    const reply = this.replies.get(conversationId);
    const isFinal = this.isFinal;
    if (reply === undefined || isFinal === undefined) return false;
    if (this.clock.now() - reply.at >= maxAgeMs || (await isFinal(reply.id).catch(() => false))) {
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
        this.waiters.get(conversationId)?.delete(wake);
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
function remember<V>(map: Map<string, V>, key: string, value: V, cap: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > cap) {
    const oldest = map.keys().next().value;
    if (oldest !== undefined) map.delete(oldest);
  }
}
