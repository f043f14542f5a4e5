import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock.js";

/** A signed-in dashboard: the API key it signed in with (kept here, never sent back) and its CSRF token. */
export interface DashboardSession {
  readonly id: string;
  /** The API key itself: every request is verified again with it, so the session has exactly the key's scopes and a revoked key ends it. */
  readonly apiKey: string;
  /** Synchronizer token: a state-changing request made with the cookie must carry it in `x-csrf-token`. */
  readonly csrf: string;
  readonly createdAt: number;
  lastSeenAt: number;
}

/** Session lifetime settings, in ms. */
export interface SessionTimes {
  /** A session unused this long ends (default 30 minutes). */
  idleMs: number;
  /** A session ends this long after sign-in, used or not (default 8 hours). */
  absoluteMs: number;
  /** A one-time sign-in link is valid this long (default 10 minutes). */
  linkMs: number;
}

export const defaultSessionTimes: SessionTimes = { idleMs: 30 * 60_000, absoluteMs: 8 * 3_600_000, linkMs: 10 * 60_000 };

const token = (): string => randomBytes(32).toString("base64url");

/** Constant-time comparison of two tokens (a length mismatch is a mismatch). */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Dashboard sessions and one-time sign-in links, in this process's memory: a restart signs
 * everyone out (they sign in again with their key), and no key is ever written to disk by the
 * dashboard. Ids are 256-bit random values.
 */
export class DashboardSessions {
  private readonly sessions = new Map<string, DashboardSession>();
  private readonly links = new Map<string, { apiKey: string; expiresAt: number }>();

  constructor(
    private readonly clock: Clock,
    readonly times: SessionTimes = defaultSessionTimes,
  ) {}

  /** A new session for a key the caller has already verified. */
  create(apiKey: string): DashboardSession {
    this.sweep();
    const now = this.clock.now();
    const session: DashboardSession = { id: token(), apiKey, csrf: token(), createdAt: now, lastSeenAt: now };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id (its idle timer restarts), or undefined when unknown or expired. */
  get(id: string | undefined): DashboardSession | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const now = this.clock.now();
    if (now - s.lastSeenAt > this.times.idleMs || now - s.createdAt > this.times.absoluteMs) {
      this.sessions.delete(id);
      return undefined;
    }
    s.lastSeenAt = now;
    return s;
  }

  /** Sign out. */
  destroy(id: string): void {
    this.sessions.delete(id);
  }

  /** A one-time sign-in token for `apiKey`, valid for `times.linkMs`. */
  oneTimeToken(apiKey: string): string {
    this.sweep();
    const t = token();
    this.links.set(t, { apiKey, expiresAt: this.clock.now() + this.times.linkMs });
    return t;
  }

  /**
   * The key behind a one-time token, consumed: the lookup and the delete run in one synchronous
   * step, so two requests with the same token never both get it.
   */
  redeem(t: string): string | undefined {
    const link = this.links.get(t);
    this.links.delete(t);
    if (!link || link.expiresAt < this.clock.now()) return undefined;
    return link.apiKey;
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const [id, s] of this.sessions)
      if (now - s.lastSeenAt > this.times.idleMs || now - s.createdAt > this.times.absoluteMs) this.sessions.delete(id);
    for (const [t, l] of this.links) if (l.expiresAt < now) this.links.delete(t);
  }
}
