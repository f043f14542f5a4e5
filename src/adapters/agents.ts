import type { TokenProvider } from "../connector/tokens.js";
import { forwardActivity, type HeraldForAdapters, invokeResponse, tokenProvider } from "./forward.js";

/**
 * `herald/agents`: Herald in a Microsoft 365 Agents SDK bot (`AgentApplication`). Structural
 * types only: @microsoft/agents-hosting is the bot's dependency, never loaded by Herald.
 *
 * ```js
 * const herald = await createHerald({ appId, databaseUrl, tokens: agentsTokens(adapter.connectionManager.getDefaultConnection()) });
 * useHerald(app, herald);
 * ```
 */

/** The part of the Agents SDK's TurnContext the hook uses. */
export interface AgentsTurnContext {
  readonly activity: object;
  sendActivity(activity: { type: string; value?: unknown }): Promise<unknown>;
}

/** The part of `AgentApplication` the hook uses. */
export interface AgentApplicationLike {
  onTurn(event: "beforeTurn", handler: (context: AgentsTurnContext, state: unknown) => Promise<boolean>): unknown;
}

/**
 * Register Herald on an AgentApplication (a `beforeTurn` handler): every activity goes to Herald
 * first; a card action Herald owns is answered by Herald and the app's routes do not run.
 */
export function useHerald<A extends AgentApplicationLike>(app: A, herald: HeraldForAdapters): A {
  app.onTurn("beforeTurn", async (context) => {
    const forwarded = await forwardActivity(herald, context.activity);
    if (!forwarded.answered) return true;
    await context.sendActivity(invokeResponse(forwarded.body));
    return false;
  });
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
