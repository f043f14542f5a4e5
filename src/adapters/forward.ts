import { ConnectorError } from "../connector/errors.js";
import type { TokenProvider } from "../connector/tokens.js";
import { HeraldError } from "../library/errors.js";

/**
 * What every SDK adapter does with one turn, without importing any SDK: hand the activity the
 * SDK has already authenticated to Herald (references, installs, uninstalls, read receipts,
 * card actions), and say whether Herald answers it (a card action it owns) or the bot does.
 */

/** The part of `HeraldLibrary` an adapter uses. */
export interface HeraldForAdapters {
  handleAuthenticatedActivity(activity: unknown): Promise<unknown>;
  /** True when the library has an `onCardAction` fallback: Herald answers every card action. */
  readonly answersAllCardActions: boolean;
}

/** Card action verbs of Herald's own features (polls, acknowledgements, preferences) start with this. */
export const heraldVerbPrefix = "herald.";

/** The Action.Execute verb of an `adaptiveCard/action` invoke; undefined for any other activity. */
export function cardActionVerb(activity: unknown): string | undefined {
  if (!activity || typeof activity !== "object") return undefined;
  const a = activity as { type?: unknown; name?: unknown; value?: { action?: { verb?: unknown } } };
  if (a.type !== "invoke" || a.name !== "adaptiveCard/action") return undefined;
  const verb = a.value?.action?.verb;
  return typeof verb === "string" ? verb : "";
}

/** Herald answers a card action when the verb is its own, or when the library routes every verb (onCardAction). */
export function heraldAnswers(herald: HeraldForAdapters, activity: unknown): boolean {
  const verb = cardActionVerb(activity);
  if (verb === undefined) return false;
  return herald.answersAllCardActions || verb.startsWith(heraldVerbPrefix);
}

/**
 * Events an SDK makes up for the bot's own proactive turns (botbuilder's and the Agents SDK's
 * `continueConversation` / `createConversation` run the middleware too). No channel sent them
 * and no token vouched for them: they are not inbound activities and never reach Herald.
 */
const proactiveEventNames = new Set(["ContinueConversation", "CreateConversation"]);

/** True for a turn the SDK made up for a proactive send (see proactiveEventNames). */
export function isProactiveTurn(activity: unknown): boolean {
  if (!activity || typeof activity !== "object") return false;
  const a = activity as { type?: unknown; name?: unknown };
  return a.type === "event" && typeof a.name === "string" && proactiveEventNames.has(a.name);
}

/** What the adapter does after Herald saw the turn. */
export type Forwarded = { answered: true; body: unknown } | { answered: false };

/**
 * Give Herald one authenticated activity. SDK activities are class instances with Dates; Herald
 * validates the wire shape, so the activity goes through JSON first. An activity Herald refuses
 * (another channel, an untrusted serviceUrl: HeraldError, already logged by Herald) leaves the
 * bot's turn alone; any other failure (the store is down) is thrown to the SDK's turn error handler.
 */
export async function forwardActivity(herald: HeraldForAdapters, activity: unknown): Promise<Forwarded> {
  // The Agents SDK's Activity keeps `channelId` behind a getter and writes its wire form with toJsonString().
  const json = activity as { toJsonString?: unknown };
  const wire: unknown = JSON.parse(typeof json.toJsonString === "function" ? String(json.toJsonString()) : JSON.stringify(activity));
  if (isProactiveTurn(wire)) return { answered: false };
  try {
    const body = await herald.handleAuthenticatedActivity(wire);
    return heraldAnswers(herald, wire) ? { answered: true, body } : { answered: false };
  } catch (e) {
    if (e instanceof HeraldError) return { answered: false };
    throw e;
  }
}

/** The part of a TurnContext the middleware uses (botbuilder's and the Agents SDK's alike). */
export interface TurnContextLike {
  readonly activity: object;
  sendActivity(activity: { type: string; value?: unknown }): Promise<unknown>;
}

/** A `Middleware` as botbuilder and the Agents SDK take it (`adapter.use(...)`). */
export interface TurnMiddleware {
  onTurn(context: TurnContextLike, next: () => Promise<void>): Promise<void>;
}

/**
 * Adapter middleware shared by botbuilder and the Agents SDK: the authenticated activity goes to
 * Herald first (forwardActivity); a card action Herald answers ends the turn with Herald's
 * invoke response, anything else continues to the bot.
 */
export function turnMiddleware(herald: HeraldForAdapters): TurnMiddleware {
  return {
    async onTurn(context, next) {
      const forwarded = await forwardActivity(herald, context.activity);
      if (forwarded.answered) {
        await context.sendActivity(invokeResponse(forwarded.body));
        return;
      }
      await next();
    },
  };
}

/** The invoke response activity every SDK understands (`context.sendActivity` stores it as the turn's answer). */
export function invokeResponse(body: unknown): { type: "invokeResponse"; value: { status: number; body: unknown } } {
  return { type: "invokeResponse", value: { status: 200, body } };
}

/**
 * Connector tokens from a function the bot's SDK already has (its credentials cache them).
 * An empty token means "no credentials" (local emulators), as Herald's own provider does. The
 * SDK fails with its own errors (MSAL, network); they become the token failure Herald's own
 * provider throws (ConnectorError, source "token"), so a delivery waits for the credentials and
 * is tried again instead of ending `failed` as if the recipient were at fault.
 */
export function tokenProvider(getToken: () => Promise<string | null | undefined>): TokenProvider {
  return {
    async getToken() {
      let token: string | null | undefined;
      try {
        token = await getToken();
      } catch (e) {
        if (e instanceof ConnectorError) throw e;
        throw new ConnectorError({
          kind: "network",
          source: "token",
          operation: "getToken",
          url: "(the bot SDK's credentials)",
          detail: e instanceof Error ? e.message.slice(0, 300) : String(e).slice(0, 300),
          cause: e,
        });
      }
      return token ? token : undefined;
    },
  };
}
