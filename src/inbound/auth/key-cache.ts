import type { Clock } from "../../clock.js";
import { type Logger, sanitize } from "../../log.js";
import { cacheUsable, type KeyCachePolicy, type KeyCacheState, type RefreshReason, refreshReason } from "./cache-policy.js";
import { type PublishedKey, parseJwks, parseOpenIdMetadata } from "./openid.js";

export type FetchFn = typeof globalThis.fetch;

export type KeyLookup =
  | { status: "found"; key: PublishedKey }
  /** No published key has this kid (after a refresh, when one was allowed). */
  | { status: "unknown" }
  /** The keys could not be fetched and nothing usable is cached. */
  | { status: "unavailable"; reason: string };

export interface KeyCacheOptions {
  metadataUrl: string;
  clock: Clock;
  fetch: FetchFn;
  logger: Logger;
  policy: KeyCachePolicy;
}

/** The signing keys named by an OpenID metadata document, fetched on demand and cached. */
export interface KeyCache {
  /** Find the key with this `kid`, fetching first when the policy says so. Never throws. */
  lookup(kid: string): Promise<KeyLookup>;
}

/**
 * Cache of the metadata document's keys. Refreshes follow `refreshReason` (daily, on an unknown
 * kid at most hourly, backing off after a failure); concurrent lookups share one refresh; a failed
 * refresh keeps the previous keys while they are younger than `maxStaleMs`.
 */
export function createKeyCache(options: KeyCacheOptions): KeyCache {
  const { clock, logger, policy } = options;
  const state: KeyCacheState = { fetchedAt: undefined, lastAttemptAt: undefined, lastFailureAt: undefined };
  let keys: ReadonlyMap<string, PublishedKey> = new Map();
  let lastError = "no fetch attempted yet";
  let inflight: Promise<boolean> | undefined;
  /** Whether the expiry of the cached keys was logged since the last successful fetch. */
  let expiryLogged = false;

  async function fetchKeys(): Promise<
    { ok: true; keys: ReadonlyMap<string, PublishedKey>; skipped: readonly string[] } | { ok: false; reason: string }
  > {
    const metadata = await fetchJson(options.fetch, clock, options.metadataUrl, policy.fetchTimeoutMs);
    if (!metadata.ok) return { ok: false, reason: `OpenID metadata ${options.metadataUrl}: ${metadata.reason}` };
    const uri = parseOpenIdMetadata(metadata.value, options.metadataUrl);
    if (!uri.ok) return { ok: false, reason: `OpenID metadata ${options.metadataUrl}: ${uri.reason}` };
    const jwks = await fetchJson(options.fetch, clock, uri.jwksUri, policy.fetchTimeoutMs);
    if (!jwks.ok) return { ok: false, reason: `signing keys ${uri.jwksUri}: ${jwks.reason}` };
    const parsed = parseJwks(jwks.value);
    if (!parsed.ok) return { ok: false, reason: `signing keys ${uri.jwksUri}: ${parsed.reason}` };
    return { ok: true, keys: parsed.value.keys, skipped: parsed.value.skipped };
  }

  async function refresh(reason: RefreshReason): Promise<boolean> {
    state.lastAttemptAt = clock.now();
    let result: Awaited<ReturnType<typeof fetchKeys>>;
    try {
      result = await fetchKeys();
    } catch (error) {
      result = { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
    const now = clock.now();
    if (result.ok) {
      keys = result.keys;
      state.fetchedAt = now;
      state.lastFailureAt = undefined;
      expiryLogged = false;
      const log = { metadataUrl: options.metadataUrl, reason, kids: [...result.keys.keys()].map((k) => sanitize(k, 80)) };
      if (result.skipped.length > 0)
        logger.warn({ ...log, skipped: result.skipped }, "inbound signing keys refreshed; some JWKS entries skipped");
      else logger.info(log, "inbound signing keys refreshed");
      return true;
    }
    state.lastFailureAt = now;
    lastError = result.reason;
    if (cacheUsable(state, now, policy)) {
      logger.warn(
        {
          code: "HERALD_E_AUTH_KEYS_UNAVAILABLE",
          reason,
          error: sanitize(result.reason, 400),
          cachedAt: new Date(state.fetchedAt ?? 0).toISOString(),
        },
        "inbound signing keys could not be refreshed; still using the cached keys",
      );
    } else {
      expiryLogged = true;
      logger.error(
        { code: "HERALD_E_AUTH_KEYS_UNAVAILABLE", reason, error: sanitize(result.reason, 400), metadataUrl: options.metadataUrl },
        "inbound signing keys unavailable: every inbound activity is refused until the OpenID metadata and keys can be fetched",
      );
    }
    return false;
  }

  function sharedRefresh(reason: RefreshReason): Promise<boolean> {
    if (!inflight) inflight = refresh(reason).finally(() => (inflight = undefined));
    return inflight;
  }

  return {
    async lookup(kid) {
      // A lookup arriving while another's refresh runs waits for it rather than reading keys about to change.
      const refreshed = inflight ? await inflight : undefined;
      const reason = refreshed === undefined ? refreshReason(state, keys.has(kid), clock.now(), policy) : undefined;
      const succeeded = reason === undefined ? refreshed : await sharedRefresh(reason);
      const now = clock.now();
      if (!cacheUsable(state, now, policy)) {
        if (state.fetchedAt !== undefined && !expiryLogged) {
          // The cache can run out between two failed refreshes (during the backoff): say so once.
          expiryLogged = true;
          logger.error(
            {
              code: "HERALD_E_AUTH_KEYS_UNAVAILABLE",
              error: sanitize(lastError, 400),
              metadataUrl: options.metadataUrl,
              cachedAt: new Date(state.fetchedAt).toISOString(),
            },
            "cached inbound signing keys are too old to use and could not be refreshed: every inbound activity is refused until they can be fetched",
          );
        }
        return { status: "unavailable", reason: lastError };
      }
      const key = keys.get(kid);
      if (key) return { status: "found", key };
      // The kid may be genuine but unverifiable: the fetch that would have found it failed.
      if (succeeded === false) return { status: "unavailable", reason: lastError };
      return { status: "unknown" };
    },
  };
}

/** GET a JSON document, with a timeout driven by the injected clock. Never throws. */
async function fetchJson(
  fetchFn: FetchFn,
  clock: Clock,
  url: string,
  timeoutMs: number,
): Promise<{ ok: true; value: unknown } | { ok: false; reason: string }> {
  const request = new AbortController();
  const timer = new AbortController();
  clock.sleep(timeoutMs, timer.signal).then(
    () => request.abort(new Error(`no answer within ${timeoutMs} ms`)),
    () => undefined,
  );
  try {
    const response = await fetchFn(url, { headers: { accept: "application/json" }, signal: request.signal });
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: false, reason: `HTTP ${response.status}` };
    }
    const text = await response.text();
    try {
      return { ok: true, value: JSON.parse(text) as unknown };
    } catch {
      return { ok: false, reason: "the response is not JSON" };
    }
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return { ok: false, reason: `${error instanceof Error ? error.message : String(error)}${cause}` };
  } finally {
    timer.abort();
  }
}
