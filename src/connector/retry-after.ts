/**
 * The longest a Retry-After of Teams or Graph holds anything of Herald's (a tenant's or a
 * conversation's bucket, a tenant's Graph calls and installs, a batch poll): a broken or hostile
 * answer cannot stop a tenant for longer. 30 minutes, the delivery engine's default retry time
 * bound (`defaultRetryPolicy.maxTotalMs`, delivery/retry.ts; a test keeps them equal). The token
 * endpoint's Retry-After has its own cap (delivery/dispatch/credentials.ts).
 */
export const maxRetryAfterHoldMs = 30 * 60_000;

/**
 * `Retry-After` (RFC 9110 §10.2.3) as milliseconds from `nowMs`: either delay-seconds (`"7"`) or
 * an HTTP date (`"Wed, 21 Oct 2026 07:28:00 GMT"`). Teams sends it on 429 and sometimes on 503.
 *
 * - A date in the past gives 0 (wait no longer), never a negative number.
 * - Fractional seconds (`"1.5"`) are accepted: some proxies send them, and rounding them down to
 *   0 would turn a polite server hint into an immediate retry.
 * - Anything unreadable (empty, negative, `"soon"`, a date `Date.parse` rejects) gives undefined,
 *   so the caller falls back to its own backoff instead of trusting a guess.
 * - A header repeated by a proxy arrives as an array; the first value wins.
 *
 * @param value the raw header value (undici gives `string | string[] | undefined`)
 * @param nowMs the current time in ms since the epoch, from the injected Clock
 * @returns milliseconds to wait (≥ 0), or undefined when absent or unreadable
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, nowMs: number): number | undefined {
  const raw = typeof value === "string" ? value : value?.[0];
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const ms = Math.ceil(Number(text) * 1000);
    return Number.isFinite(ms) ? ms : undefined;
  }
  // Only something that looks like a date: `Date.parse("12abc")` would otherwise read odd strings as years.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - nowMs);
}
