/** Rate limiting of requests to Teams (protocol reference, section 6): policies, the port, two back ends. */
export { holdAfter429 } from "./hold.js";
export { InProcessRateLimiter } from "./memory.js";
export {
  type CompiledWindow,
  compileWindow,
  conversationCreatePolicy,
  conversationSendPolicy,
  defaultGcraOptions,
  type GcraOptions,
  getMembersPolicy,
  type LimitPolicy,
  type LimitWindow,
  tenantPolicy,
} from "./policy.js";
export { type BucketKey, type RateLimiter, RateLimiterUsageError } from "./rate-limiter.js";
export { RedisRateLimiter, type RedisRateLimiterOptions } from "./redis.js";
