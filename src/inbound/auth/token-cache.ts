import type { KeyObject } from "node:crypto";
import { clockSkewSeconds } from "./claims.js";

/**
 * Tokens whose signature already verified, so the RSA check (about a tenth of the CPU of an invoke
 * under load) runs once per token rather than once per activity: the Connector puts the same token
 * on every activity it sends for about an hour.
 *
 * What is cached is only the fact "this exact token string was signed by this key object" and the
 * payload the signature covers. Everything else is checked again on every use by the verifier:
 * the key must still be published (the same `KeyObject`, so a key refresh or rotation means a new
 * signature check), and issuer, audience, `exp`/`nbf` against the clock, serviceurl and the key's
 * endorsements. Only tokens that passed every check are added, never a failure. Entries leave when
 * the token has expired (beyond the allowed clock skew) or, past `maxEntries`, least recently used.
 */
export interface VerifiedToken {
  /** The key object whose signature check passed. */
  key: KeyObject;
  /** The signed payload, as parsed then. */
  payload: Readonly<Record<string, unknown>>;
}

interface Entry extends VerifiedToken {
  /** After this (ms since the epoch) the token is expired even with the allowed skew: drop it. */
  dropAt: number;
}

/** Default bound: tokens are ~1.5 KB, so 4,096 entries cost a few MB at most. */
export const defaultTokenCacheSize = 4_096;

export class VerifiedTokenCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly maxEntries = defaultTokenCacheSize) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new TypeError("VerifiedTokenCache: maxEntries must be a whole number >= 0.");
  }

  /** The verified signature of exactly this token string, unless it has expired by `nowMs`. */
  get(token: string, nowMs: number): VerifiedToken | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (nowMs >= entry.dropAt) return undefined;
    this.entries.set(token, entry); // most recently used last
    return entry;
  }

  /**
   * Remember a token that passed every check. `exp` is its `exp` claim in seconds; a token without
   * a numeric `exp` is not cached (the verifier refuses it anyway).
   */
  set(token: string, verified: VerifiedToken, nowMs: number): void {
    const exp = verified.payload["exp"];
    if (this.maxEntries === 0 || typeof exp !== "number" || !Number.isFinite(exp)) return;
    const dropAt = (exp + clockSkewSeconds) * 1000;
    if (nowMs >= dropAt) return;
    this.entries.delete(token);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(token, { key: verified.key, payload: verified.payload, dropAt });
  }

  /** How many tokens are cached (tests, metrics). */
  get size(): number {
    return this.entries.size;
  }
}
