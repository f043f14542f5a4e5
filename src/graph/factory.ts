import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import type { Config } from "../config/config.js";
import type { Logger } from "../log.js";
import { TeamsAppGraph } from "./apps.js";
import { GraphClient, graphHost } from "./client.js";
import { createGraphTokens } from "./tokens.js";

export interface GraphDeps {
  /** The Connector client's pooled Agent (or any undici Dispatcher). */
  dispatcher: Dispatcher;
  clock: Clock;
  logger?: Logger | undefined;
  managedIdentityEndpoint?: string | undefined;
  onThrottle?: ((tenantId: string, untilMs: number) => void) | undefined;
  /** `$top` of user listings (default 999, Graph's largest). */
  pageSize?: number | undefined;
}

/** The Graph side of a Herald process. */
export interface HeraldGraph {
  client: GraphClient;
  apps: TeamsAppGraph;
}

/** Graph for the validated configuration: the cloud's (or HERALD_GRAPH_URL's) host, per-tenant tokens from the bot's credentials. */
export function createGraph(
  config: Pick<Config, "appId" | "appPassword" | "appType" | "cloud" | "tokenEndpoint" | "graphUrl" | "teamsAppId"> &
    Partial<Pick<Config, "appCertificate">>,
  deps: GraphDeps,
): HeraldGraph {
  const tokens = createGraphTokens(config, deps);
  const client = new GraphClient(graphHost(config.cloud, config.graphUrl), {
    dispatcher: deps.dispatcher,
    tokens,
    clock: deps.clock,
    logger: deps.logger,
    onThrottle: deps.onThrottle,
  });
  return { client, apps: new TeamsAppGraph(client, { appId: config.appId, teamsAppId: config.teamsAppId, pageSize: deps.pageSize }) };
}
