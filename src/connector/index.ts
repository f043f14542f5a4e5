/** The Bot Connector client: the port, its HTTP implementation, tokens and errors. */
export type {
  ActivityResource,
  Attachment,
  ChannelAccount,
  ConnectorClient,
  ConversationParameters,
  ConversationResource,
  MembersPage,
  MembersPageRequest,
  OutgoingActivity,
  TeamChannel,
  TeamDetails,
  TeamsChannelAccount,
} from "./client.js";
export { clientCredentialsSource, tokenEndpointFor } from "./client-credentials.js";
export { channelThread, personalConversation } from "./conversation-params.js";
export { type ErrorFacts, parseErrorBody } from "./error-body.js";
export {
  ConnectorError,
  type ConnectorErrorCode,
  type ConnectorErrorKind,
  type ConnectorErrorSource,
  type ConnectorOperation,
  type TimeoutPhase,
} from "./errors.js";
export {
  type ConnectorConfig,
  type ConnectorDeps,
  createConnectorClient,
  createTokenProvider,
  type TokenConfig,
  type TokenProviderDeps,
} from "./factory.js";
export { HttpConnectorClient, type HttpConnectorClientDeps } from "./http-client.js";
export { IMDS_TOKEN_ENDPOINT, managedIdentitySource } from "./managed-identity.js";
export { parseRetryAfter } from "./retry-after.js";
export { type AccessToken, CachingTokenProvider, noCredentials, type TokenProvider, type TokenSource } from "./tokens.js";
export { createHttpAgent, defaultHttpOptions, type HttpOptions } from "./transport.js";
