import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import { readAppCertificate } from "../config/certificate.js";
import { type Cloud, clouds } from "../config/clouds.js";
import type { Config } from "../config/config.js";
import { clientAssertionSource } from "../connector/client-assertion.js";
import { clientCredentialsSource } from "../connector/client-credentials.js";
import { IMDS_TOKEN_ENDPOINT, managedIdentitySource, resourceOfScope } from "../connector/managed-identity.js";
import { splitEndpoint } from "../connector/token-fetch.js";
import { CachingTokenProvider, type TokenProvider, type TokenSource } from "../connector/tokens.js";
import type { Logger } from "../log.js";

/** The settings Graph tokens read: the Connector's credentials and cloud. */
export type GraphTokenConfig = Pick<Config, "appId" | "appPassword" | "appType" | "cloud" | "tokenEndpoint"> &
  Partial<Pick<Config, "appCertificate">>;

/** Graph's scope in a cloud: `https://graph.microsoft.com/.default` (the resource, not HERALD_GRAPH_URL). */
export function graphScope(cloud: Cloud): string {
  return `${cloud.graphUrl}/.default`;
}

/**
 * The token URL for `tenantId`. Graph tokens are per tenant (an app installs for a user of the
 * tenant it has a token for), unlike the Connector's. With HERALD_TOKEN_ENDPOINT
 * (`http://emulator/botframework.com/oauth2/v2.0/token`) the tenant segment before `/oauth2/`
 * is replaced; else `https://{loginHost}/{tenantId}/oauth2/v2.0/token`.
 */
export function graphTokenEndpoint(cloud: Cloud, tokenEndpoint: string | undefined, tenantId: string): string {
  const tenant = encodeURIComponent(tenantId);
  if (!tokenEndpoint) return `https://${cloud.loginHost}/${tenant}/oauth2/v2.0/token`;
  const u = new URL(tokenEndpoint);
  const m = /^(.*\/)[^/]+(\/oauth2\/(?:v2\.0\/)?token)$/.exec(u.pathname);
  if (m) u.pathname = `${m[1]}${tenant}${m[2]}`;
  return u.toString();
}

/** Gives a Graph token for a tenant; undefined when Herald has no credentials (emulator with auth off). */
export interface GraphTokens {
  getToken(tenantId: string, signal?: AbortSignal): Promise<string | undefined>;
  invalidate(tenantId: string, token: string): void;
}

export interface GraphTokenDeps {
  dispatcher: Dispatcher;
  clock: Clock;
  logger?: Logger | undefined;
  managedIdentityEndpoint?: string | undefined;
}

/**
 * Graph tokens from the same credentials as the Connector client, through the same code
 * (src/connector: client credentials with a secret, a certificate-signed client assertion, or
 * a managed identity through IMDS), for the Graph scope of the configured cloud. One cached,
 * early-refreshed provider per tenant (CachingTokenProvider); a managed identity has one
 * provider for all tenants (IMDS gives its home tenant's token).
 */
export function createGraphTokens(config: GraphTokenConfig, deps: GraphTokenDeps): GraphTokens {
  const cloud = clouds[config.cloud];
  const scope = graphScope(cloud);
  const providers = new Map<string, TokenProvider>();
  const certificate = config.appCertificate && !config.appPassword ? readAppCertificate(config.appCertificate) : undefined;
  const sourceFor = (tenantId: string): { source: TokenSource; endpoint: string } | undefined => {
    const clientId = config.appId ?? "";
    if (config.appType === "UserAssignedMSI") {
      const endpoint = deps.managedIdentityEndpoint ?? config.tokenEndpoint ?? IMDS_TOKEN_ENDPOINT;
      return { endpoint, source: managedIdentitySource({ clientId, resource: resourceOfScope(scope), endpoint }, deps) };
    }
    const endpoint = graphTokenEndpoint(cloud, config.tokenEndpoint, tenantId);
    if (config.appPassword)
      return { endpoint, source: clientCredentialsSource({ endpoint, clientId, clientSecret: config.appPassword, scope }, deps) };
    if (certificate) return { endpoint, source: clientAssertionSource({ endpoint, clientId, certificate, scope }, deps) };
    return undefined;
  };
  const providerFor = (tenantId: string): TokenProvider | undefined => {
    const key = config.appType === "UserAssignedMSI" ? "" : tenantId.toLowerCase();
    let p = providers.get(key);
    if (!p) {
      const s = sourceFor(tenantId);
      if (!s) return undefined;
      p = new CachingTokenProvider(s.source, { clock: deps.clock, endpoint: splitEndpoint(s.endpoint).label, logger: deps.logger });
      providers.set(key, p);
    }
    return p;
  };
  return {
    async getToken(tenantId, signal) {
      const token = await providerFor(tenantId)?.getToken(signal);
      const tid = token === undefined ? undefined : tenantOfToken(token);
      // A managed identity only has its home tenant's token: used for another tenant it would read
      // and install in the home tenant while Herald reports it as the other tenant's.
      if (tid !== undefined && tid.toLowerCase() !== tenantId.toLowerCase())
        throw new Error(
          `the Graph token is for tenant ${tid}, not ${tenantId}: these credentials reach only their own tenant (a managed identity has no token for other tenants).`,
        );
      return token;
    },
    invalidate(tenantId, token) {
      providerFor(tenantId)?.invalidate?.(token);
    },
  };
}

/** The `tid` claim of a JWT access token (not verified: Herald's own token), or undefined. */
export function tenantOfToken(token: string): string | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const tid: unknown = (JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { tid?: unknown }).tid;
    return typeof tid === "string" && tid !== "" ? tid : undefined;
  } catch {
    return undefined;
  }
}
