import type { Logger } from "../../log.js";
import type { RateLimiter } from "./rate-limiter.js";

/**
 * A 429's hold: every key blocked until `until`. A limiter that cannot write it (Redis down) is
 * logged, never thrown: the caller's own outcome (the 429, a read's error) stands, and a rejection
 * left to a tracked promise would be unhandled and end the process.
 */
export async function holdAfter429(limiter: RateLimiter, keys: readonly string[], until: number, logger: Logger): Promise<void> {
  await Promise.all(keys.map((k) => limiter.block(k, until))).catch((e: unknown) =>
    logger.warn({ err: (e as Error).message, buckets: keys }, "could not hold the rate-limit buckets after a 429"),
  );
}
