import type { Activity } from "./activity.js";

/** Answers one kind of card action (Action.Execute); returns the card to show instead, if any. */
export type CardActionHandler = (activity: Activity, verb: string, data: unknown) => Promise<Record<string, unknown> | undefined>;

/**
 * Card actions routed by verb prefix, so each feature (polls, preferences, a library user's own
 * cards) owns its verbs without knowing about the others. The longest matching prefix wins;
 * a verb nobody registered goes to the fallback (the library's `onCardAction`), if any.
 */
export class CardActions {
  private readonly handlers = new Map<string, CardActionHandler>();

  constructor(
    private readonly fallback?: (
      activity: Activity,
      verb: string | undefined,
      data: unknown,
    ) => Promise<Record<string, unknown> | undefined>,
  ) {}

  /** Route verbs equal to `prefix` or starting with `prefix` + "." or ":" to `handler`. */
  on(prefix: string, handler: CardActionHandler): this {
    if (this.handlers.has(prefix)) throw new Error(`Card action verb prefix "${prefix}" is registered twice.`);
    this.handlers.set(prefix, handler);
    return this;
  }

  handle = async (activity: Activity, verb: string | undefined, data: unknown): Promise<Record<string, unknown> | undefined> => {
    const handler = verb === undefined ? undefined : this.match(verb);
    if (handler && verb !== undefined) return handler(activity, verb, data);
    return this.fallback?.(activity, verb, data);
  };

  private match(verb: string): CardActionHandler | undefined {
    let best: { prefix: string; handler: CardActionHandler } | undefined;
    for (const [prefix, handler] of this.handlers) {
      const matches = verb === prefix || verb.startsWith(`${prefix}.`) || verb.startsWith(`${prefix}:`);
      if (matches && (!best || prefix.length > best.prefix.length)) best = { prefix, handler };
    }
    return best?.handler;
  }
}
