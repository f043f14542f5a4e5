import { withFooter } from "../../preferences/footer.js";
import { type PreparedMessage, prepareMessage } from "../message/prepare.js";
import type { Message } from "../message/schema.js";
import type { Survey } from "../message/survey.js";
import type { Notification } from "../model.js";

/** A notification's message, compiled once per version, ready to render for each recipient. */
export interface MessageVersion {
  version: number;
  prepared: PreparedMessage;
  /** `message.survey`, when the notification is a survey (asked through SurveyHook, not rendered). */
  survey?: Survey | undefined;
}

/**
 * The compiled messages of the notifications being sent: a broadcast renders one message a
 * million times, so its templates are parsed once. Reloaded when a newer version shows up
 * (an edit here or in another process).
 */
export class MessageCache {
  private readonly entries = new Map<string, MessageVersion>();
  private readonly loading = new Map<string, Promise<MessageVersion | undefined>>();

  constructor(private readonly load: (id: string) => Promise<Notification | undefined>) {}

  /** The cached version, loading it when missing or older than `atLeast`. Undefined when the notification is gone. */
  async get(id: string, atLeast = 0): Promise<MessageVersion | undefined> {
    const cached = this.entries.get(id);
    if (cached && cached.version >= atLeast) return cached;
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.fetch(id).finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  /** The version cached now, without loading. */
  peek(id: string): MessageVersion | undefined {
    return this.entries.get(id);
  }

  /** Note the version the store reported; a newer one is loaded on next use. */
  seen(id: string, version: number): void {
    const cached = this.entries.get(id);
    if (cached && cached.version < version) this.entries.delete(id);
  }

  /** Compile and remember a message (the engine just stored this version). */
  put(n: Notification): MessageVersion {
    const message = n.footer ? withFooter(n.message as Message, n.category) : (n.message as Message);
    const entry = { version: n.messageVersion, prepared: prepareMessage(message, { data: n.data }), survey: message.survey };
    this.entries.set(n.id, entry);
    return entry;
  }

  forget(id: string): void {
    this.entries.delete(id);
  }

  private async fetch(id: string): Promise<MessageVersion | undefined> {
    const n = await this.load(id);
    if (!n) {
      this.entries.delete(id);
      return undefined;
    }
    const current = this.entries.get(id);
    if (current && current.version >= n.messageVersion) return current;
    return this.put(n);
  }
}
