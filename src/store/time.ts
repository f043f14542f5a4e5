import { StoreError } from "./errors.js";

/**
 * The one form the store keeps times in: ISO 8601 UTC with milliseconds, as
 * `Date.prototype.toISOString` writes it. Text order is then time order in both databases, so
 * "never move backwards" is a string comparison. Values already in that form come back unchanged.
 */
export function canonicalTime(value: string, field = "at"): string {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) {
    throw new StoreError(
      "HERALD_E_STORE_TIME",
      `${field} must be an ISO 8601 time (got "${value.slice(0, 40)}"); pass e.g. new Date().toISOString().`,
    );
  }
  return new Date(ms).toISOString();
}

/** The later of two canonical times. */
export const laterOf = (a: string, b: string): string => (a >= b ? a : b);
