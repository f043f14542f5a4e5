import type { TokenProvider } from "../connector/tokens.js";
import { type HeraldForAdapters, type TurnContextLike, type TurnMiddleware, tokenProvider, turnMiddleware } from "./forward.js";

/**
 * `herald/agents`: Herald in a Microsoft 365 Agents SDK bot (`AgentApplication`). Structural
 * types only: @microsoft/agents-hosting is the bot's dependency, never loaded by Herald.
 *
 * ```js
 * const herald = await createHerald({ appId, databaseUrl, tokens: agentsTokens(adapter.connectionManager.getDefaultConnection()) });
 * useHerald(app, herald);
 * ```
 */

/** The part of the Agents SDK's TurnContext the middleware uses. */
export type AgentsTurnContext = TurnContextLike;

/** The Agents SDK's `Middleware` (`adapter.use(...)`). */
export type AgentsMiddleware = TurnMiddleware;

/** The part of `AgentApplication` the hook uses: its CloudAdapter. */
export interface AgentApplicationLike {
  readonly adapter: { use(middleware: AgentsMiddleware): unknown };
}

/**
 * Middleware for the Agents SDK's CloudAdapter: every activity the adapter authenticated goes to
 * Herald first; a card action Herald owns is answered by Herald and the agent's routes do not
 * run; everything else continues. (Adapter middleware, not a `beforeTurn` handler: AgentApplication
 * runs `beforeTurn` only when a route matched, and Herald must see installs no route handles.)
 */
export function heraldMiddleware(herald: HeraldForAdapters): AgentsMiddleware {
  return turnMiddleware(herald);
}

/** Register Herald on an AgentApplication (on its adapter, see heraldMiddleware); returns the app. */
export function useHerald<A extends AgentApplicationLike>(app: A, herald: HeraldForAdapters): A {
  app.adapter.use(heraldMiddleware(herald));
  return app;
}

/** The Agents SDK's AuthProvider (MsalTokenProvider, or the connection manager's default connection). */
export interface AgentsAuthProvider {
  getAccessToken(scope: string): Promise<string>;
}

/**
 * Herald sends with the agent's own connection: `createHerald({ tokens: agentsTokens(provider) })`.
 * @param scope the Connector's scope (default `https://api.botframework.com`)
 */
export function agentsTokens(provider: AgentsAuthProvider, scope = "https://api.botframework.com"): TokenProvider {
  return tokenProvider(() => provider.getAccessToken(scope));
}
