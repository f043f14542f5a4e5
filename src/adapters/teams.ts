import type { TokenProvider } from "../connector/tokens.js";
import { forwardActivity, type HeraldForAdapters, tokenProvider } from "./forward.js";

/**
 * `herald/teams`: Herald in a Teams SDK (v2, `@microsoft/teams.apps`) `App`. Structural types
 * only: the Teams SDK is the bot's dependency, never loaded by Herald.
 *
 * ```js
 * const app = new App({ clientId, clientSecret });
 * const herald = await createHerald({ appId: clientId, databaseUrl, tokens: teamsTokens(app) });
 * useHerald(app, herald); // before the app's own handlers
 * ```
 */

/** The part of the Teams SDK's activity context the middleware uses. */
export interface TeamsActivityContext {
  readonly activity: object;
  next(): unknown;
}

/** The part of the Teams SDK's `App` the middleware uses. */
export interface TeamsAppLike {
  use(handler: (context: TeamsActivityContext) => Promise<unknown>): unknown;
}

/**
 * Register Herald as the App's first middleware (`app.use`): every activity the App
 * authenticated goes to Herald first; a card action Herald owns is answered by Herald (the
 * handler's InvokeResponse) and the app's own handlers do not run; everything else continues.
 */
export function useHerald<A extends TeamsAppLike>(app: A, herald: HeraldForAdapters): A {
  app.use(async (context) => {
    const forwarded = await forwardActivity(herald, context.activity);
    if (forwarded.answered) return { status: 200, body: forwarded.body };
    return context.next();
  });
  return app;
}

/** Where the Teams SDK keeps the bot's token: App's `getBotToken()` (TypeScript-protected, its TokenManager with its cache). */
interface BotTokenSource {
  getBotToken(): Promise<{ toString(): string } | null | undefined>;
}

/**
 * Herald sends with the App's own credentials (clientId/clientSecret, managed identity or its
 * `token` option): `createHerald({ tokens: teamsTokens(app) })`. Throws when `app` has no
 * `getBotToken` (not a Teams SDK v2 App).
 */
export function teamsTokens(app: object): TokenProvider {
  const source = app as Partial<BotTokenSource>;
  if (typeof source.getBotToken !== "function")
    throw new TypeError("teamsTokens(app) needs a Teams SDK v2 App (@microsoft/teams.apps), which has getBotToken().");
  const getBotToken = source.getBotToken.bind(app);
  return tokenProvider(async () => (await getBotToken())?.toString());
}
