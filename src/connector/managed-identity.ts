import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import { fetchToken, splitEndpoint, type TokenRequest } from "./token-fetch.js";
import type { TokenSource } from "./tokens.js";

/**
 * A user-assigned managed identity through the Azure Instance Metadata Service (VMs, AKS,
 * Container Apps with IMDS): `GET <endpoint>?api-version=2018-02-01&resource=<resource>&client_id=<appId>`
 * with `Metadata: true`. IMDS answers only on the link-local address, over plain http.
 */
export const IMDS_TOKEN_ENDPOINT = "http://169.254.169.254/metadata/identity/oauth2/token";

/** The resource IMDS wants is the scope without `/.default`: `https://api.botframework.com`. */
export function resourceOfScope(scope: string): string {
  return scope.replace(/\/\.default$/, "");
}

/** The IMDS request URL; query parameters already on `endpoint` (a test server's) are kept. */
export function managedIdentityUrl(endpoint: string, resource: string, clientId: string): string {
  const u = new URL(endpoint);
  u.searchParams.set("api-version", "2018-02-01");
  u.searchParams.set("resource", resource);
  u.searchParams.set("client_id", clientId);
  return u.toString();
}

/** A TokenSource asking IMDS; the URL is built once. */
export function managedIdentitySource(
  p: { clientId: string; resource: string; endpoint?: string | undefined },
  deps: { dispatcher: Dispatcher; clock: Clock },
): TokenSource {
  const req: TokenRequest = {
    ...splitEndpoint(managedIdentityUrl(p.endpoint ?? IMDS_TOKEN_ENDPOINT, p.resource, p.clientId)),
    method: "GET",
    headers: { metadata: "true", accept: "application/json" },
  };
  return () => fetchToken(deps.dispatcher, req, deps.clock);
}
