import type { TokenProvider } from "../connector/tokens.js";
import { type HeraldForAdapters, type TurnContextLike, type TurnMiddleware, tokenProvider, turnMiddleware } from "./forward.js";

/**
 * `herald/botbuilder`: Herald in a Bot Framework SDK v4 bot (CloudAdapter). Structural types
 * only: botbuilder is the bot's dependency, never loaded by Herald.
 *
 * ```js
 * const herald = await createHerald({ appId, databaseUrl, tokens: botbuilderTokens(credentials) });
 * adapter.use(heraldMiddleware(herald));
 * ```
 */

/** The part of botbuilder's TurnContext the middleware uses. */
export type BotbuilderTurnContext = TurnContextLike;

/** botbuilder's `Middleware` (`adapter.use(...)`). */
export type BotbuilderMiddleware = TurnMiddleware;

/**
 * Middleware for `CloudAdapter.use`: every activity the adapter authenticated goes to Herald
 * first (conversation references, installs and uninstalls, read receipts, card actions); a card
 * action Herald owns (`herald.*`, or every verb with `onCardAction`) is answered by Herald and
 * the bot's handlers do not run; everything else continues to the bot.
 */
export function heraldMiddleware(herald: HeraldForAdapters): BotbuilderMiddleware {
  return turnMiddleware(herald);
}

/** botbuilder's AppCredentials (MicrosoftAppCredentials, CertificateAppCredentials, ...): what it has to give tokens. */
export interface BotbuilderCredentials {
  getToken(forceRefresh?: boolean): Promise<string>;
}

/** Herald sends with the bot's own credentials: `createHerald({ tokens: botbuilderTokens(credentials) })`. */
export function botbuilderTokens(credentials: BotbuilderCredentials): TokenProvider {
  return tokenProvider(() => credentials.getToken(false));
}
