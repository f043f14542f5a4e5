/**
 * How a wait becomes a `Retry-After` header. Teams sends whole seconds; the emulator does the
 * same at time scale 1 (rounded up, at least 1). When time is scaled, whole seconds would be
 * far too coarse (a 100 ms window would say "1"), so the header carries fractional seconds
 * with millisecond precision (e.g. `0.153`), which Herald's parser accepts.
 */
export type RetryAfterFormat = "auto" | "integer" | "fractional";

export interface RetryAfter {
  /** Header value. */
  header: string;
  /** The wait the header announces, in milliseconds (>= the real wait). */
  ms: number;
}

export function retryAfter(waitMs: number, timeScale: number, format: RetryAfterFormat = "auto"): RetryAfter {
  const integer = format === "integer" || (format === "auto" && timeScale === 1);
  if (integer) {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    return { header: String(seconds), ms: seconds * 1000 };
  }
  const ms = Math.max(1, Math.ceil(waitMs));
  return { header: String(ms / 1000), ms };
}
