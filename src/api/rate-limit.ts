import type { Clock } from "../clock.js";
import { errorResponse } from "../http/errors.js";
import type { AfterAuth } from "./auth.js";

/**
 * Per-API-key request limit: a token bucket per key (`ratePerSecond` refill, `burst` capacity).
 * Over the limit: 429 with Retry-After (whole seconds, at least 1). In process: each Herald
 * process enforces it on its own. Defaults: 20 requests/s, bursts of 100 — a broadcast is one
 * request, so this only stops runaway scripts.
 */
export function perKeyRateLimit(clock: Clock, ratePerSecond = 20, burst = 100): AfterAuth {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (c) => {
    const principal = c.get("principal");
    const now = clock.now();
    const b = buckets.get(principal.keyId) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * ratePerSecond);
    b.at = now;
    buckets.set(principal.keyId, b);
    if (b.tokens < 1) {
      const wait = Math.max(1, Math.ceil((1 - b.tokens) / ratePerSecond));
      return errorResponse(c, 429, "HERALD_E_RATE_LIMITED", `This API key is over ${ratePerSecond} requests/s; retry after ${wait} s.`, {
        "Retry-After": String(wait),
      });
    }
    b.tokens -= 1;
    return undefined;
  };
}
