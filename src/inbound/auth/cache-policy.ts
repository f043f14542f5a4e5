/**
 * When the OpenID metadata and signing keys are fetched again (protocol reference, section 3,
 * check 1). Pure decisions over plain timestamps so the whole policy is tested without sockets.
 */
export interface KeyCachePolicy {
  /** Refresh once the cached keys are this old, in ms. Default 24 h: section 3 asks for at least daily. */
  refreshIntervalMs: number;
  /**
   * Least time between two fetches when a token names an unknown `kid`, in ms. Default 1 h
   * (section 3; botbuilder uses the same), so tokens with made-up kids cannot hammer the endpoint.
   */
  unknownKidIntervalMs: number;
  /**
   * How long a cached key set keeps serving while refreshes fail, in ms. Default 5 days: the
   * refresh period botbuilder-js used for years, so keys that old were accepted practice.
   */
  maxStaleMs: number;
  /** After a failed fetch, wait this long before the next attempt, in ms. Default 10 s. */
  retryAfterFailureMs: number;
  /** Abort a metadata or keys request after this long, in ms. Default 10 s. */
  fetchTimeoutMs: number;
}

export const defaultKeyCachePolicy: Readonly<KeyCachePolicy> = Object.freeze({
  refreshIntervalMs: 24 * 60 * 60 * 1000,
  unknownKidIntervalMs: 60 * 60 * 1000,
  maxStaleMs: 5 * 24 * 60 * 60 * 1000,
  retryAfterFailureMs: 10 * 1000,
  fetchTimeoutMs: 10 * 1000,
});

/** Timestamps (ms since the epoch) the cache keeps about its fetches. */
export interface KeyCacheState {
  /** When the cached key set was fetched; undefined = nothing cached. */
  fetchedAt: number | undefined;
  /** When the last fetch (successful or not) started. */
  lastAttemptAt: number | undefined;
  /** When the last fetch failed; cleared by a success. */
  lastFailureAt: number | undefined;
}

export type RefreshReason = "empty" | "due" | "unknown-kid";

/**
 * Whether a lookup of a `kid` must fetch first, and why; undefined = answer from the cache.
 * A clock that went backwards (`now < fetchedAt`) counts as due, so a bad clock cannot pin old keys.
 */
export function refreshReason(state: KeyCacheState, kidKnown: boolean, now: number, policy: KeyCachePolicy): RefreshReason | undefined {
  if (state.lastFailureAt !== undefined && now >= state.lastFailureAt && now - state.lastFailureAt < policy.retryAfterFailureMs) {
    return undefined;
  }
  if (state.fetchedAt === undefined) return "empty";
  const age = now - state.fetchedAt;
  if (age < 0 || age >= policy.refreshIntervalMs) return "due";
  if (!kidKnown && (state.lastAttemptAt === undefined || now - state.lastAttemptAt >= policy.unknownKidIntervalMs)) {
    return "unknown-kid";
  }
  return undefined;
}

/** Whether the cached key set may still be used (it is younger than `maxStaleMs`). */
export function cacheUsable(state: KeyCacheState, now: number, policy: KeyCachePolicy): boolean {
  return state.fetchedAt !== undefined && now - state.fetchedAt < policy.maxStaleMs;
}
