import { randomBytes, timingSafeEqual } from "node:crypto";
import type { ApiKeyVerifier, Principal } from "../api/auth.js";
import type { Clock } from "../clock.js";

/** A signed-in dashboard: the API key it signed in with (kept here, never sent back) and its CSRF token. */
export interface DashboardSession {
  readonly id: string;
  /**
   * The API key itself: every request is verified again with it, so the session has exactly the
   * key's scopes and a revoked key ends it. For a person signed in with OpenID Connect, a random
   * bearer token of this session only (`hp_…`, never sent to the browser) that `personVerifier`
   * turns into the person's principal while the session lives.
   */
  readonly apiKey: string;
  /** The person signed in with OpenID Connect; undefined for an API-key session. */
  readonly person?: Principal | undefined;
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
  /** An OpenID Connect sign-in started and not finished ends after this long (default 10 minutes). */
  pendingMs?: number;
}

/** What an OpenID Connect sign-in keeps between leaving for the issuer and coming back. */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUrl: string;
}

/** Prefix of a person session's internal bearer token. */
const personPrefix = "hp_";

/**
 * True when `presented` is a person session's internal bearer token: accepted only on requests
 * `withSessionAuth` forwards (it refuses one a client sends itself), never from outside.
 */
export const isPersonToken = (presented: string): boolean => presented.startsWith(personPrefix);

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
  private readonly people = new Map<string, string>();
  private readonly pending = new Map<string, PendingLogin & { expiresAt: number }>();

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

  /** A new session for a person whose ID token the caller has validated, with what their claims grant. */
  createForPerson(person: Principal): DashboardSession {
    this.sweep();
    const now = this.clock.now();
    const bearer = `${personPrefix}${token()}`;
    const session: DashboardSession = { id: token(), apiKey: bearer, person, csrf: token(), createdAt: now, lastSeenAt: now };
    this.sessions.set(session.id, session);
    this.people.set(bearer, session.id);
    return session;
  }

  /** The person behind a person session's bearer token while the session lives; undefined otherwise. */
  personOf(bearer: string): Principal | undefined {
    const id = this.people.get(bearer);
    const s = id === undefined ? undefined : this.get(id);
    if (!s) this.people.delete(bearer);
    return s?.person;
  }

  /** Keep an OpenID Connect sign-in's state, nonce and PKCE verifier under a new random id (its cookie). */
  startLogin(login: PendingLogin): string {
    this.sweep();
    const id = token();
    this.pending.set(id, { ...login, expiresAt: this.clock.now() + (this.times.pendingMs ?? 10 * 60_000) });
    return id;
  }

  /** The pending sign-in with this id, consumed (a callback is accepted once). */
  takeLogin(id: string | undefined): PendingLogin | undefined {
    if (!id) return undefined;
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (!p || p.expiresAt < this.clock.now()) return undefined;
    return p;
  }

  /** Sign out. */
  destroy(id: string): void {
    const s = this.sessions.get(id);
    if (s?.person) this.people.delete(s.apiKey);
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
      if (now - s.lastSeenAt > this.times.idleMs || now - s.createdAt > this.times.absoluteMs) this.destroy(id);
    for (const [t, l] of this.links) if (l.expiresAt < now) this.links.delete(t);
    for (const [t, p] of this.pending) if (p.expiresAt < now) this.pending.delete(t);
  }
}

/**
 * The API's key verifier with people signed in through OpenID Connect in front: a person
 * session's bearer token (`hp_…`, which only `withSessionAuth` puts on requests) is the person's
 * principal, so every route checks a person's scopes and guardrails exactly as a key's.
 */
export function personVerifier(sessions: DashboardSessions, next: ApiKeyVerifier): ApiKeyVerifier {
  return {
    async verify(presented) {
      if (presented.startsWith(personPrefix)) return sessions.personOf(presented);
      return next.verify(presented);
    },
  };
}
