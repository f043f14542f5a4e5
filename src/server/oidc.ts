import * as client from "openid-client";
import type { Principal } from "../api/auth.js";
import type { Clock } from "../clock.js";
import type { Config } from "../config/config.js";
import { grantFor, type OidcRoleMap } from "../config/oidc-roles.js";
import type { Logger } from "../log.js";
import type { PendingLogin } from "./dashboard-sessions.js";

/** Where the issuer sends people back, under the dashboard's origin when HERALD_OIDC_REDIRECT_URL is unset. */
export const oidcCallbackPath = "/dashboard/oidc/callback";

/** The OIDC settings, all present (config.ts refuses a partial set). */
export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUrl?: string | undefined;
  roles: OidcRoleMap;
}

/** The settings when OpenID Connect sign-in is configured, else undefined. */
export function oidcSettings(config: Config): OidcSettings | undefined {
  if (!config.oidcIssuer || !config.oidcClientId || !config.oidcClientSecret || !config.oidcRoles) return undefined;
  return {
    issuer: config.oidcIssuer,
    clientId: config.oidcClientId,
    clientSecret: config.oidcClientSecret,
    redirectUrl: config.oidcRedirectUrl,
    roles: config.oidcRoles,
  };
}

/**
 * What openid-client said, with its causes: its top message is generic ("invalid response
 * encountered"); the cause names the check (the state, a claim such as nonce, exp or aud, the signature).
 */
function refusalText(e: unknown): string {
  const parts: string[] = [];
  let at: unknown = e;
  for (let depth = 0; at instanceof Error && depth < 4; depth++) {
    const claim = (at as { claim?: unknown }).claim;
    const description = (at as { error_description?: unknown }).error_description;
    parts.push(
      `${at.message}${typeof claim === "string" ? ` (claim "${claim}")` : ""}${typeof description === "string" ? ` (${description})` : ""}`,
    );
    at = at.cause;
  }
  return [...new Set(parts)].join(": ");
}

/** A refused sign-in: what the person is told. */
export class SignInRefused extends Error {
  constructor(
    readonly status: 401 | 403 | 502,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Sign-in of people with the organisation's OpenID Connect provider, through openid-client: the
 * authorization code flow with PKCE (S256), `state` and `nonce`; the library checks the ID token
 * (signature against the issuer's JWKS, issuer, audience, expiry, nonce). What a person may do
 * comes from HERALD_OIDC_ROLES (config/oidc-roles.ts).
 */
export class OidcSignIn {
  private discovered: Promise<client.Configuration> | undefined;

  constructor(
    private readonly settings: OidcSettings,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** The issuer's metadata, fetched once (again after a failure, so an issuer down at start-up is retried). */
  private configuration(): Promise<client.Configuration> {
    if (!this.discovered) {
      const issuer = new URL(this.settings.issuer);
      // Plain http only for a loopback issuer (the emulator); config.ts refuses it elsewhere unless trusted.
      // The ID token's signature is checked against the issuer's JWKS too: openid-client skips
      // that by default for a token from the token endpoint (the TLS channel vouches for it), and
      // a token forged by whoever answers in the issuer's place must not sign anyone in.
      const execute = [client.enableNonRepudiationChecks, ...(issuer.protocol === "http:" ? [client.allowInsecureRequests] : [])];
      this.discovered = client
        .discovery(
          issuer,
          this.settings.clientId,
          // The library judges expiry on the system clock; Herald's injected clock may differ (tests, simulations).
          { client_secret: this.settings.clientSecret, [client.clockSkew]: Math.round((this.clock.now() - Date.now()) / 1000) },
          client.ClientSecretPost(this.settings.clientSecret),
          { execute, timeout: 10 },
        )
        .catch((e: unknown) => {
          this.discovered = undefined;
          this.logger.warn({ err: { message: (e as Error).message }, issuer: this.settings.issuer }, "OpenID Connect discovery failed");
          throw new SignInRefused(
            502,
            `The organisation's sign-in (${this.settings.issuer}) could not be reached: ${(e as Error).message}. Try again, or sign in with an API key.`,
          );
        });
    }
    return this.discovered;
  }

  /** The redirect URI: HERALD_OIDC_REDIRECT_URL, or the callback under the dashboard's origin. */
  redirectUrl(origin: string): string {
    return this.settings.redirectUrl ?? `${origin}${oidcCallbackPath}`;
  }

  /** Where to send the browser, and what to keep until it comes back. */
  async begin(origin: string): Promise<{ url: string; login: PendingLogin }> {
    const config = await this.configuration();
    const codeVerifier = client.randomPKCECodeVerifier();
    const login: PendingLogin = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier,
      redirectUrl: this.redirectUrl(origin),
    };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: login.redirectUrl,
      scope: "openid profile email",
      response_type: "code",
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state: login.state,
      nonce: login.nonce,
    });
    return { url: url.href, login };
  }

  /**
   * Finish a sign-in: exchange the code (with the PKCE verifier) and let openid-client validate
   * the state and the ID token; then map its claims to a principal. Throws SignInRefused.
   */
  async finish(query: URLSearchParams, login: PendingLogin): Promise<Principal> {
    const config = await this.configuration();
    // The issuer answered with the URL it was given: rebuild it (behind a proxy the request's own URL differs).
    const current = new URL(login.redirectUrl);
    for (const [k, v] of query) current.searchParams.set(k, v);
    let claims: Record<string, unknown> | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(
        config,
        current,
        { pkceCodeVerifier: login.codeVerifier, expectedState: login.state, expectedNonce: login.nonce, idTokenExpected: true },
        { redirect_uri: login.redirectUrl },
      );
      claims = tokens.claims() as Record<string, unknown> | undefined;
    } catch (e) {
      const message = refusalText(e);
      this.logger.warn({ err: { message, code: (e as { code?: unknown }).code } }, "OpenID Connect sign-in refused");
      throw new SignInRefused(401, `The organisation's answer was refused: ${message}. Start again; if it repeats, tell an administrator.`);
    }
    if (!claims) throw new SignInRefused(401, "The issuer answered without an ID token.");
    const grant = grantFor(claims, this.settings.roles);
    const username = [claims["preferred_username"], claims["email"], claims["sub"]].find((v): v is string => typeof v === "string") ?? "";
    if (!grant)
      throw new SignInRefused(
        403,
        `${username} has no Herald role: none of their app roles or groups is in HERALD_OIDC_ROLES. Ask an administrator to assign a Herald app role or map one of their groups.`,
      );
    const name = typeof claims["name"] === "string" ? claims["name"] : undefined;
    this.logger.info({ person: username, matched: grant.matched, scopes: grant.scopes }, "person signed in with OpenID Connect");
    return {
      keyId: personId(claims),
      scopes: grant.scopes,
      tenants: grant.tenants,
      teams: grant.teams,
      groups: grant.groups,
      reach: grant.byScope,
      person: { name, username },
    };
  }
}

/**
 * A person's stable id (what owns their drafts, notifications and idempotency keys): never a
 * claim the person or a tenant admin can change (preferred_username, email: the "nOAuth" risk of
 * taking over another's identity by renaming). Entra's `tid` + `oid` (the user object, unique
 * across tenants) when both are present, else the issuer's `sub` (unique within the one
 * configured issuer). Names stay for display (`person.username`) and the audit log.
 */
export function personId(claims: Record<string, unknown>): string {
  const tid = claims["tid"];
  const oid = claims["oid"];
  if (typeof tid === "string" && tid !== "" && typeof oid === "string" && oid !== "") return `oidc:${tid}:${oid}`;
  const sub = claims["sub"];
  if (typeof sub === "string" && sub !== "") return `oidc:${sub}`;
  throw new SignInRefused(401, "The ID token carries no subject (sub); the issuer's answer cannot name the person. Tell an administrator.");
}
