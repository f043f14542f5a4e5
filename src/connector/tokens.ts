/**
 * Tokens for the Connector (protocol reference, section 3): the `TokenProvider` port and the
 * cache every real provider sits behind.
 *
 * Why hand-written OAuth instead of @azure/msal-node (the issue asks to prefer a well-kept
 * library unless there are measured reasons). Checked against msal-node 5.1.5 / msal-common
 * 16.5.2, the copy botframework-connector pulls into node_modules (not a Herald dependency):
 * - It refuses any http authority: `new ConfidentialClientApplication({auth: {authority:
 *   "http://127.0.0.1:<port>/tenant"}})` then `acquireTokenByClientCredential` fails with
 *   `authority_uri_insecure`, with or without `knownAuthorities` (msal-common
 *   `UrlString.validateAsUri` requires `https:`). The local emulator (M365 Agents Playground)
 *   and Herald's own tests serve their token endpoint over http on loopback.
 * - For an https authority it does not recognise it first asks the network: with no options a
 *   `GET https://login.microsoftonline.com/common/discovery/instance?...` (instance discovery,
 *   i.e. the internet); with `knownAuthorities` a `GET <authority>/v2.0/.well-known/openid-configuration`.
 *   Only `knownAuthorities` + a hand-written `authorityMetadata` JSON skips both. For
 *   login.microsoftonline.com itself it goes straight to `POST .../oauth2/v2.0/token`.
 * - `HERALD_TOKEN_ENDPOINT` replaces the whole token URL; MSAL takes an authority and derives the
 *   URL, adding `?client-request-id=...`. Reaching an arbitrary URL would need a custom
 *   `system.networkClient` that rewrites MSAL's requests, i.e. replacing the part a library was
 *   meant to provide, and a second code path the tests would not exercise.
 * - It is not in package.json (adding it is outside this change), and managed identity would be
 *   a second MSAL client (`ManagedIdentityApplication`) with its own cache.
 * The flow itself is one form POST (client credentials) or one GET (IMDS); what needs care is
 * the cache below: refresh early, one request in flight, failures that do not stick. That part
 * is tested against real local HTTP servers with an injected clock.
 */
import type { Clock } from "../clock.js";
import type { Logger } from "../log.js";
import { ConnectorError } from "./errors.js";

/** Gives the bearer token for the next Connector request. */
export interface TokenProvider {
  /**
   * A valid access token, or undefined when no credentials are configured: the request then
   * carries no Authorization header, which local emulators (M365 Agents Playground) expect.
   * Rejects with a ConnectorError (`source: "token"`) when the token endpoint fails.
   */
  getToken(signal?: AbortSignal): Promise<string | undefined>;
  /**
   * The Connector answered 401 to this token: forget it so the next call fetches a new one.
   * Ignored when the token is not the cached one or was fetched in the last 30 s (a brand-new
   * token being refused will not be cured by another; this keeps a 401 storm from turning into
   * a token-request storm).
   */
  invalidate?(token: string): void;
}

/** No credentials configured: every request goes without Authorization. */
export const noCredentials: TokenProvider = { getToken: async () => undefined };

/** A token as a token endpoint hands it out. */
export interface AccessToken {
  token: string;
  /** Lifetime from the moment the request was sent, in ms. */
  expiresInMs: number;
}

/** One request to a token endpoint. Throws a ConnectorError with `source: "token"`. */
export type TokenSource = () => Promise<AccessToken>;

export interface CachingOptions {
  clock: Clock;
  /** Refresh this long before expiry, in ms. Default 300 000 (5 min); never more than half the token's lifetime. */
  refreshEarlyMs?: number | undefined;
  /** Stop handing out a token this long before it expires (clock skew with the Connector), in ms. Default 30 000; at most a quarter of the lifetime. */
  expirySkewMs?: number | undefined;
  /** After a failed early refresh, wait this long before the next attempt while the old token is still served, in ms. Default 10 000. */
  retryAfterFailureMs?: number | undefined;
  /** Names the endpoint in logs and abort errors (no secrets). */
  endpoint: string;
  logger?: Logger | undefined;
  /** Told after every request to the token endpoint (metrics). */
  onRefresh?: ((ok: boolean) => void) | undefined;
}

interface Cached {
  token: string;
  obtainedAt: number;
  refreshAt: number;
  usableUntil: number;
}

const INVALIDATE_MIN_AGE_MS = 30_000;

/**
 * Caches a TokenSource's token and refreshes it before it expires.
 * - Until `refreshAt` the cached token is returned at once.
 * - Between `refreshAt` and `usableUntil` the cached token is still returned at once while one
 *   background request fetches the next, so no send waits on the token endpoint; if that request
 *   fails it is logged and retried no sooner than `retryAfterFailureMs` later.
 * - With no usable token, callers wait for the one request in flight (all of them share it);
 *   its failure rejects them all and is not remembered: the next call asks again.
 * A caller's AbortSignal only stops that caller's wait, never the shared request.
 */
export class CachingTokenProvider implements TokenProvider {
  private current: Cached | undefined;
  private inflight: Promise<Cached> | undefined;
  private retryNotBefore = 0;
  private readonly refreshEarlyMs: number;
  private readonly expirySkewMs: number;
  private readonly retryAfterFailureMs: number;

  constructor(
    private readonly source: TokenSource,
    private readonly options: CachingOptions,
  ) {
    this.refreshEarlyMs = options.refreshEarlyMs ?? 300_000;
    this.expirySkewMs = options.expirySkewMs ?? 30_000;
    this.retryAfterFailureMs = options.retryAfterFailureMs ?? 10_000;
  }

  async getToken(signal?: AbortSignal): Promise<string> {
    const now = this.options.clock.now();
    const c = this.current;
    if (c && now < c.refreshAt) return c.token;
    if (c && now < c.usableUntil) {
      if (!this.inflight && now >= this.retryNotBefore) this.refresh().catch(() => undefined);
      return c.token;
    }
    const fresh = await this.waitFor(this.inflight ?? this.refresh(), signal);
    return fresh.token;
  }

  invalidate(token: string): void {
    const c = this.current;
    if (c && c.token === token && this.options.clock.now() - c.obtainedAt >= INVALIDATE_MIN_AGE_MS) this.current = undefined;
  }

  private refresh(): Promise<Cached> {
    const startedAt = this.options.clock.now();
    const p = Promise.resolve()
      .then(() => this.source())
      .then(
        (t) => {
          const lifetime = Math.max(0, t.expiresInMs);
          const expiresAt = startedAt + lifetime;
          const cached: Cached = {
            token: t.token,
            obtainedAt: startedAt,
            refreshAt: expiresAt - Math.min(this.refreshEarlyMs, lifetime / 2),
            usableUntil: expiresAt - Math.min(this.expirySkewMs, lifetime / 4),
          };
          this.current = cached;
          this.inflight = undefined;
          this.options.logger?.debug({ endpoint: this.options.endpoint, expiresInMs: lifetime }, "connector token refreshed");
          this.options.onRefresh?.(true);
          return cached;
        },
        (error: unknown) => {
          this.inflight = undefined;
          this.retryNotBefore = this.options.clock.now() + this.retryAfterFailureMs;
          this.options.onRefresh?.(false);
          this.options.logger?.warn(
            { endpoint: this.options.endpoint, code: (error as ConnectorError).heraldCode, err: (error as Error).message },
            "connector token request failed",
          );
          throw error;
        },
      );
    this.inflight = p;
    return p;
  }

  private waitFor(p: Promise<Cached>, signal: AbortSignal | undefined): Promise<Cached> {
    if (!signal) return p;
    const aborted = () =>
      new ConnectorError({ kind: "aborted", source: "token", operation: "getToken", url: this.options.endpoint, cause: signal.reason });
    if (signal.aborted) return Promise.reject(aborted());
    return new Promise<Cached>((resolve, reject) => {
      const onAbort = () => reject(aborted());
      signal.addEventListener("abort", onAbort, { once: true });
      p.then(
        (v) => {
          signal.removeEventListener("abort", onAbort);
          resolve(v);
        },
        (e: unknown) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        },
      );
    });
  }
}
