import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import type { Cloud } from "../config/clouds.js";
import { type AppType, ConfigError } from "../config/config.js";
import { fetchToken, splitEndpoint, type TokenRequest } from "./token-fetch.js";
import type { TokenSource } from "./tokens.js";

/**
 * OAuth2 client credentials (protocol reference, section 3): one form POST of
 * `grant_type=client_credentials&client_id&client_secret&scope` to the token endpoint.
 */
export interface ClientCredentials {
  /** The full token URL (see `tokenEndpointFor`). */
  endpoint: string;
  clientId: string;
  clientSecret: string;
  /** The Connector scope of the cloud, e.g. `https://api.botframework.com/.default`. */
  scope: string;
}

/**
 * The token URL: `HERALD_TOKEN_ENDPOINT` when set (it replaces the whole URL), else
 * `https://{loginHost}/{tenant}/oauth2/v2.0/token` with the bot's own tenant for SingleTenant and
 * the cloud's multi-tenant authority (`botframework.com`) for MultiTenant.
 * Throws a ConfigError when a SingleTenant bot has no tenant id (config validation normally refuses that first).
 */
export function tokenEndpointFor(p: {
  cloud: Cloud;
  appType: AppType;
  appTenantId: string | undefined;
  tokenEndpoint: string | undefined;
}): string {
  if (p.tokenEndpoint) return p.tokenEndpoint;
  const tenant = p.appType === "SingleTenant" ? p.appTenantId : p.cloud.multiTenantAuthority;
  if (!tenant) {
    throw new ConfigError([
      "HERALD_APP_TENANT_ID is required for HERALD_APP_TYPE=SingleTenant: tokens come from the bot's own tenant. Set it, or set HERALD_TOKEN_ENDPOINT.",
    ]);
  }
  return `https://${p.cloud.loginHost}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`;
}

/** A TokenSource doing client credentials; the form body is built once. */
export function clientCredentialsSource(creds: ClientCredentials, deps: { dispatcher: Dispatcher; clock: Clock }): TokenSource {
  const req: TokenRequest = {
    ...splitEndpoint(creds.endpoint),
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: creds.clientId,
      client_secret: creds.clientSecret,
      scope: creds.scope,
    }).toString(),
  };
  return () => fetchToken(deps.dispatcher, req, deps.clock);
}
