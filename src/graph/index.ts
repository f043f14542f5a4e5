/** Microsoft Graph: tokens, client, and the Teams-app operations proactive installation uses. */
export { type GraphUser, type InstallAnswer, TeamsAppGraph } from "./apps.js";
export {
  GRAPH_VERSION,
  type GraphAnswer,
  GraphClient,
  type GraphClientDeps,
  type GraphHost,
  type GraphRequestOptions,
  graphHost,
} from "./client.js";
export { GraphError, type GraphErrorCode } from "./errors.js";
export { createGraph, type GraphDeps, type HeraldGraph } from "./factory.js";
export { createGraphTokens, type GraphTokens, graphScope, graphTokenEndpoint } from "./tokens.js";
