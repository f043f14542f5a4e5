import { ConversationLimiter, type LimitKey, scaleWindows, TenantLimiter, teamsWindows } from "./limiter.js";
import { type RetryAfter, type RetryAfterFormat, retryAfter } from "./retry-after.js";

export interface LimitSettings {
  /** Apply Teams' limits at all. Default true. */
  enabled: boolean;
  /** Time-scale factor: 10 = windows and Retry-After ten times shorter. Default 1. */
  timeScale: number;
  /** Requests per second per tenant, all conversations together; 0 = no tenant limit. Default 50. */
  tenantRps: number;
  /** Retry-After as whole or fractional seconds; `auto` = whole at time scale 1. Default auto. */
  retryAfterFormat: RetryAfterFormat;
  /**
   * A request that arrives up to this many milliseconds before its Retry-After has elapsed is
   * not counted as a violation (absorbs requests already in flight). Default 0.
   */
  violationGraceMs: number;
}

export type { LimitKey };
export type LimitClass = keyof typeof teamsWindows;

/** Why a request was refused: the header to send and whose limit it was. */
export interface Throttle {
  retry: RetryAfter;
  scope: "conversation" | "tenant";
}

/**
 * Teams' rate limits for the emulator: per conversation (send, create and read classes) and per
 * tenant, plus the book of Retry-After deadlines given out, from which violations are counted.
 * Time comes in as `now` (ms) so the rules are testable without a clock.
 */
export class Limits {
  private perConversation!: Record<LimitClass, ConversationLimiter>;
  private tenant: TenantLimiter | undefined;
  private readonly convUntil = new Map<LimitKey, number>();
  private readonly tenantUntil: Float64Array;
  settings: LimitSettings;

  constructor(
    private readonly tenants: number,
    settings: LimitSettings,
  ) {
    this.settings = settings;
    this.tenantUntil = new Float64Array(tenants);
    this.rebuild();
  }

  /** Change settings at run time; counting windows start afresh. */
  configure(patch: Partial<LimitSettings>): void {
    this.settings = { ...this.settings, ...patch };
    this.rebuild();
  }

  private rebuild(): void {
    const { timeScale, tenantRps } = this.settings;
    this.perConversation = {
      send: new ConversationLimiter(scaleWindows(teamsWindows.send, timeScale)),
      create: new ConversationLimiter(scaleWindows(teamsWindows.create, timeScale)),
      read: new ConversationLimiter(scaleWindows(teamsWindows.read, timeScale)),
    };
    this.tenant = tenantRps > 0 ? new TenantLimiter(this.tenants, tenantRps, timeScale) : undefined;
    this.convUntil.clear();
    this.tenantUntil.fill(0);
  }

  /** Whether a request arrives before a Retry-After given for its conversation or tenant elapsed. */
  isViolation(tenant: number, key: LimitKey | undefined, now: number): boolean {
    const t = now + this.settings.violationGraceMs;
    if (tenant >= 0 && t < (this.tenantUntil[tenant] ?? 0)) return true;
    if (key === undefined || this.convUntil.size === 0) return false;
    const until = this.convUntil.get(key);
    return until !== undefined && t < until;
  }

  /**
   * Admit a request (returns undefined and records it) or refuse it with a Retry-After, which
   * is remembered for violation counting. `key` undefined = tenant limit only.
   */
  admit(tenant: number, key: LimitKey | undefined, cls: LimitClass, now: number): Throttle | undefined {
    if (!this.settings.enabled) return undefined;
    if (this.tenant && tenant >= 0) {
      const wait = this.tenant.wait(tenant, now);
      if (wait > 0) {
        const retry = retryAfter(wait, this.settings.timeScale, this.settings.retryAfterFormat);
        this.tenantUntil[tenant] = Math.max(this.tenantUntil[tenant] ?? 0, now + retry.ms);
        return { retry, scope: "tenant" };
      }
    }
    if (key !== undefined) {
      const wait = this.perConversation[cls].take(key, now);
      if (wait > 0) {
        const retry = retryAfter(wait, this.settings.timeScale, this.settings.retryAfterFormat);
        this.convUntil.set(key, Math.max(this.convUntil.get(key) ?? 0, now + retry.ms));
        return { retry, scope: "conversation" };
      }
    }
    if (this.tenant && tenant >= 0) this.tenant.record(tenant, now);
    return undefined;
  }

  /** Drop state that can no longer matter (idle conversations, elapsed Retry-After). */
  sweep(now: number): void {
    for (const limiter of Object.values(this.perConversation)) limiter.sweep(now);
    for (const [key, until] of this.convUntil) if (until <= now) this.convUntil.delete(key);
  }

  /** Conversations holding limit state (for memory checks). */
  get tracked(): number {
    let n = this.convUntil.size;
    for (const limiter of Object.values(this.perConversation)) n += limiter.tracked;
    return n;
  }
}
