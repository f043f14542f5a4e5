import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import { readAppCertificate, showSettingValue } from "../config/certificate.js";
import { clouds } from "../config/clouds.js";
import { type Config, ConfigError } from "../config/config.js";
import { type TrustedHosts, trustedHosts } from "../config/trusted-hosts.js";
import type { Logger } from "../log.js";
import { clientAssertionSource } from "./client-assertion.js";
import { clientCredentialsSource, tokenEndpointFor } from "./client-credentials.js";
import { HttpConnectorClient } from "./http-client.js";
import { IMDS_TOKEN_ENDPOINT, managedIdentitySource, resourceOfScope } from "./managed-identity.js";
import { splitEndpoint } from "./token-fetch.js";
import { CachingTokenProvider, noCredentials, type TokenProvider, type TokenSource } from "./tokens.js";
import { createHttpAgent, type HttpOptions } from "./transport.js";

/** The settings the token providers read. */
export type TokenConfig = Pick<Config, "appId" | "appPassword" | "appTenantId" | "appType" | "cloud" | "tokenEndpoint"> &
  Partial<Pick<Config, "appCertificate">>;

/** The settings the Connector client reads. */
export type ConnectorConfig = TokenConfig & Pick<Config, "trustedHosts">;

export interface TokenProviderDeps {
  /** Where token requests go through (the Connector client's Agent, so both share one pool). */
  dispatcher: Dispatcher;
  clock: Clock;
  logger?: Logger | undefined;
  /** Override of the IMDS endpoint for UserAssignedMSI (tests); else HERALD_TOKEN_ENDPOINT, else IMDS. */
  managedIdentityEndpoint?: string | undefined;
  /** Refresh this long before expiry, in ms. Default 300 000 (5 min). */
  refreshEarlyMs?: number | undefined;
  /** Told after every request to the token endpoint (metrics). */
  onRefresh?: ((ok: boolean) => void) | undefined;
}

/**
 * The token provider the configuration asks for:
 * - `UserAssignedMSI`: managed identity through IMDS, client_id = HERALD_APP_ID, resource = the
 *   cloud's Connector scope without `/.default`;
 * - a password set: client credentials against HERALD_TOKEN_ENDPOINT, else
 *   `https://{loginHost}/{appTenantId | multiTenantAuthority}/oauth2/v2.0/token`, scope = the cloud's Connector scope;
 * - a certificate set (HERALD_APP_CERTIFICATE): the same, with a signed client assertion instead of the secret;
 * - neither: no token at all (requests go without Authorization, as local emulators expect).
 * Real providers are cached (tokens.ts). Throws ConfigError when a needed setting is missing.
 */
export function createTokenProvider(config: TokenConfig, deps: TokenProviderDeps): TokenProvider {
  const cloud = clouds[config.cloud];
  let source: TokenSource;
  let endpoint: string;
  if (config.appType === "UserAssignedMSI") {
    if (!config.appId)
      throw new ConfigError(["HERALD_APP_ID is required for HERALD_APP_TYPE=UserAssignedMSI: it is the managed identity's client id."]);
    endpoint = deps.managedIdentityEndpoint ?? config.tokenEndpoint ?? IMDS_TOKEN_ENDPOINT;
    source = managedIdentitySource(
      { clientId: config.appId, resource: resourceOfScope(cloud.connectorScope), endpoint },
      { dispatcher: deps.dispatcher, clock: deps.clock },
    );
  } else if (config.appPassword) {
    if (!config.appId)
      throw new ConfigError(["HERALD_APP_PASSWORD is set but HERALD_APP_ID is not: both are needed to get Connector tokens."]);
    endpoint = tokenEndpointFor({ cloud, appType: config.appType, appTenantId: config.appTenantId, tokenEndpoint: config.tokenEndpoint });
    source = clientCredentialsSource(
      { endpoint, clientId: config.appId, clientSecret: config.appPassword, scope: cloud.connectorScope },
      { dispatcher: deps.dispatcher, clock: deps.clock },
    );
  } else if (config.appCertificate) {
    if (!config.appId)
      throw new ConfigError(["HERALD_APP_CERTIFICATE is set but HERALD_APP_ID is not: both are needed to get Connector tokens."]);
    let certificate: ReturnType<typeof readAppCertificate>;
    try {
      certificate = readAppCertificate(config.appCertificate);
    } catch (error) {
      throw new ConfigError([`HERALD_APP_CERTIFICATE=${showSettingValue(config.appCertificate)} is invalid: ${(error as Error).message}.`]);
    }
    endpoint = tokenEndpointFor({ cloud, appType: config.appType, appTenantId: config.appTenantId, tokenEndpoint: config.tokenEndpoint });
    source = clientAssertionSource(
      { endpoint, clientId: config.appId, certificate, scope: cloud.connectorScope },
      { dispatcher: deps.dispatcher, clock: deps.clock },
    );
    deps.logger?.info(
      { subject: certificate.subject, validTo: certificate.validTo, x5t: certificate.x5t },
      "Connector tokens: client assertion signed with the HERALD_APP_CERTIFICATE key",
    );
  } else {
    deps.logger?.info(
      "no HERALD_APP_PASSWORD or HERALD_APP_CERTIFICATE: Connector requests carry no Authorization header (local emulator mode)",
    );
    return noCredentials;
  }
  return new CachingTokenProvider(source, {
    clock: deps.clock,
    endpoint: splitEndpoint(endpoint).label,
    logger: deps.logger,
    refreshEarlyMs: deps.refreshEarlyMs,
    onRefresh: deps.onRefresh,
  });
}

export interface ConnectorDeps {
  clock: Clock;
  logger?: Logger | undefined;
  /** Pool and timeout settings; defaults in transport.ts (`defaultHttpOptions`). */
  http?: Partial<HttpOptions> | undefined;
  /** Use this provider instead of `createTokenProvider(config, ...)`. */
  tokens?: TokenProvider | undefined;
  /** Use this instead of `trustedHosts(clouds[config.cloud], config.trustedHosts)`. */
  isTrusted?: TrustedHosts | undefined;
  /** See TokenProviderDeps. */
  managedIdentityEndpoint?: string | undefined;
  /** Default `Herald`. */
  userAgent?: string | undefined;
  /** See TokenProviderDeps. */
  onTokenRefresh?: ((ok: boolean) => void) | undefined;
}

/**
 * The Connector client for the validated configuration: one pooled keep-alive Agent shared by
 * Connector calls and token requests, the configured cloud's trusted hosts plus
 * HERALD_TRUSTED_HOSTS, and the configured token provider. `close()` closes the Agent.
 */
export function createConnectorClient(config: ConnectorConfig, deps: ConnectorDeps): HttpConnectorClient {
  const agent = createHttpAgent(deps.http);
  const tokens =
    deps.tokens ??
    createTokenProvider(config, {
      dispatcher: agent,
      clock: deps.clock,
      logger: deps.logger,
      managedIdentityEndpoint: deps.managedIdentityEndpoint,
      onRefresh: deps.onTokenRefresh,
    });
  return new HttpConnectorClient({
    dispatcher: agent,
    tokens,
    isTrusted: deps.isTrusted ?? trustedHosts(clouds[config.cloud], config.trustedHosts),
    clock: deps.clock,
    logger: deps.logger,
    userAgent: deps.userAgent,
    onClose: () => agent.close(),
  });
}
