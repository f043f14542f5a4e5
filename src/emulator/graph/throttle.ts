import { TenantLimiter } from "../limits/limiter.js";
import type { LimitSettings } from "../limits/limits.js";
import { type RetryAfter, retryAfter } from "../limits/retry-after.js";

/**
 * Graph's app-installation throttle: about `rate` installs per second per app per tenant
 * (protocol reference, section 7: 30/s), as an exact sliding window per tenant. It follows
 * the emulator's limit settings (on/off, time scale, Retry-After format) as they change at
 * run time, and remembers each Retry-After it gave so it can count violations: an install
 * request for a tenant before its Retry-After has elapsed.
 */
export class InstallThrottle {
  private limiter: TenantLimiter | undefined;
  private scale = 0;
  private readonly until: Float64Array;

  constructor(
    private readonly tenants: number,
    private readonly rate: number,
  ) {
    this.until = new Float64Array(tenants);
  }

  private ensure(timeScale: number): TenantLimiter | undefined {
    if (this.rate <= 0) return undefined;
    if (!this.limiter || this.scale !== timeScale) {
      this.limiter = new TenantLimiter(this.tenants, this.rate, timeScale);
      this.scale = timeScale;
      this.until.fill(0);
    }
    return this.limiter;
  }

  /** Whether a request at `now` comes before a Retry-After given to its tenant elapsed. */
  isViolation(tenant: number, now: number, settings: LimitSettings): boolean {
    return now + settings.violationGraceMs < (this.until[tenant] ?? 0);
  }

  /** Admit an install (undefined) or refuse it with a Retry-After. */
  admit(tenant: number, now: number, settings: LimitSettings): RetryAfter | undefined {
    if (!settings.enabled) return undefined;
    const limiter = this.ensure(settings.timeScale);
    if (!limiter) return undefined;
    const wait = limiter.wait(tenant, now);
    if (wait > 0) {
      const retry = retryAfter(wait, settings.timeScale, settings.retryAfterFormat);
      this.until[tenant] = Math.max(this.until[tenant] ?? 0, now + retry.ms);
      return retry;
    }
    limiter.record(tenant, now);
    return undefined;
  }
}
