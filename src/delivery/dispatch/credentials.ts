import type { Clock } from "../../clock.js";
import { ConnectorError } from "../../connector/errors.js";
import type { Logger } from "../../log.js";

/**
 * An expired client secret, a throttled or unreachable token endpoint, a Connector that refuses
 * Herald's token (401): none of these says anything about a recipient. Failing rows for them
 * would fail every remaining recipient one by one, each send asking for a token again. Instead
 * the engine pauses all sending (the credentials are shared) with exponential backoff; the
 * request that hit the problem goes back to its row, no attempt used. When the pause ends, ONE
 * request probes; its success resumes everything, its failure doubles the wait.
 *
 * A token-endpoint failure is always the credentials. A Connector 401 is the credentials only
 * until evidence says otherwise: when the Connector accepted the credentials for another request
 * that LEFT after the 401 came back (requests are numbered as they leave, `depart`), the 401 is
 * about that conversation, and the row follows the retry table's 401 rule (`failed`) instead of
 * pausing everything (see `judge401`). Evidence is an answer the Connector gives only after it
 * checked the token (2xx, 400, 403, 404, 409, 412, 413), never a 429 or a 5xx (a gateway may
 * answer those before any check), and never an answer to a request that left before the 401 came
 * back: mid-broadcast, answers to requests sent before a revocation keep arriving after it and
 * prove nothing, and a request that left after the refused one may still have reached Teams
 * before it (the refused one was opening a connection). A request that passed the gate earlier
 * but left later (its row was marked in flight meanwhile) counts: the order is the leaving one.
 * The price: a conversation that refuses the token while nothing else is being sent keeps sending
 * paused (one probe per wait, at most 5 min apart) until another request is accepted, which then
 * fails that row. What it cannot tell: the secret revoked, fixed, then revoked again, with this
 * row's retry the first request refused the second time; the answers of between then fail the
 * row (`failed`, code 401; `POST /v1/notifications/{id}/retry` sends it again).
 */

/** What `/readyz` and the metrics show. Times are ISO 8601. */
export interface CredentialState {
  ok: boolean;
  /** Why sending is paused, in short (status and OAuth code; no URL, no server text: `/readyz` is unauthenticated). */
  reason?: string | undefined;
  /** Stable code: HERALD_E_TOKEN (token endpoint) or HERALD_E_CONNECTOR_401. */
  code?: string | undefined;
  since?: string | undefined;
  /** When the next probe may go. */
  retryAt?: string | undefined;
  /** Failures in a row. */
  failures: number;
}

export interface CredentialBackoff {
  /** First wait, ms. Default 1000. */
  baseMs: number;
  /** Longest wait, ms. Default 300 000 (5 min). */
  capMs: number;
  /** A probe that never reports back frees the way for another after this long, ms. Default 60 000. */
  probeTimeoutMs: number;
}

export const defaultCredentialBackoff: CredentialBackoff = Object.freeze({ baseMs: 1_000, capMs: 300_000, probeTimeoutMs: 60_000 });

/** True when `e` is a credential problem rather than a delivery outcome. */
export function isCredentialFailure(e: unknown): e is ConnectorError {
  if (!(e instanceof ConnectorError) || e.kind === "aborted" || e.kind === "untrusted") return false;
  return e.source === "token" || (e.kind === "http" && e.status === 401);
}

/** The longest wait a Retry-After may impose: max(capMs, 1 h). */
export const retryAfterCeilingMs = (policy: CredentialBackoff): number => Math.max(policy.capMs, 3_600_000);

/**
 * The wait after `failures` failures in a row: base·2^(n−1), capped at capMs; never shorter than
 * the endpoint's Retry-After, but a Retry-After is itself capped at max(capMs, 1 h) (a broken or
 * hostile answer of "Retry-After: 1 year" must not stop sending for a year: after the cap one
 * probe asks again, and a fresh Retry-After sets the next wait).
 */
export function credentialDelay(failures: number, retryAfterMs: number | undefined, policy: CredentialBackoff): number {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
  return Math.min(Math.max(exp, retryAfterMs ?? 0), retryAfterCeilingMs(policy));
}

/** An answer the Connector gives only after it checked the bot's token: evidence the credentials work. */
const authenticatedStatuses: ReadonlySet<number> = new Set([400, 403, 404, 409, 412, 413]);

/** True when `e` is an answer of the Connector that it gives only after accepting the token (see above). */
export function authenticatedAnswer(e: unknown): boolean {
  return e instanceof ConnectorError && e.kind === "http" && e.status !== undefined && authenticatedStatuses.has(e.status);
}

/** Rows remembered with a Connector 401 at most (oldest forgotten first): memory stays bounded. */
const suspectsMax = 10_000;

/** What a Connector 401 of one row means (see `CredentialGate.judge401`). */
export type Verdict401 = "credentials" | "row";

/** The engine-wide credential gate (one per process: one set of credentials). */
export class CredentialGate {
  private failures = 0;
  private since: number | undefined;
  private until = 0;
  /** The current wait (set with `until`). */
  private delay = 0;
  private reason: string | undefined;
  private code: string | undefined;
  private probeAt: number | undefined;
  /** Requests that left so far (`depart`): their order is what `judge401` compares. */
  private departures = 0;
  /** The latest departure (number) of a request that the Connector accepted (see `authenticatedAnswer`). */
  private acceptedDeparture = 0;
  /** Departures so far when the latest credential failure came back: only an answer to a later request ends a pause. */
  private failedDeparture = 0;
  /**
   * Rows whose requests got a Connector 401: the departures so far when the latest came back.
   */
  private readonly suspects = new Map<string, { after: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly policy: CredentialBackoff = defaultCredentialBackoff,
  ) {}

  /** Whether sending is paused for the credentials (a probe may be due: see `waitMs`). */
  get paused(): boolean {
    return this.failures > 0;
  }

  /**
   * How long a lane should wait before sending anything (0 = go now). With `key` (a roster, a
   * batch submit), a row refused with a 401 waits one wait more, so that another request probes.
   */
  waitMs(now: number, key?: string): number {
    if (this.failures === 0) return 0;
    // A key refused with a 401 waits one wait more: another request probes first when there is one.
    const until = key !== undefined && this.suspects.has(key) ? this.until + this.delay : this.until;
    if (now < until) return until - now;
    if (this.probeAt !== undefined && now - this.probeAt < this.policy.probeTimeoutMs) return Math.max(1, this.until - now, 50);
    return 0;
  }

  /**
   * May a request leave now? Always when the credentials are fine; while paused, only one probe
   * once the wait has passed (the others go back to their rows, due when the pause may end).
   */
  enter(now: number, key?: string): boolean {
    if (this.failures === 0) return true;
    if (this.waitMs(now, key) > 0) return false;
    this.probeAt = now;
    return true;
  }

  /** When a row turned away now should come due again. */
  get retryAt(): number {
    return Math.max(this.until, this.clock.now() + 50);
  }

  /**
   * A request that passed `enter` at `enteredAt` ended without an answer from Teams (its message
   * was recalled, rendering failed, the row could not be marked, a 429 or a tenant pause held it
   * back, the network failed): if it was the probe, the way is free for another at once instead
   * of after probeTimeoutMs.
   */
  lost(enteredAt: number): void {
    if (this.probeAt !== undefined && this.probeAt === enteredAt) this.probeAt = undefined;
  }

  /** Number a request as it leaves for the Connector (right before the call): evidence for `judge401`. */
  depart(): number {
    return ++this.departures;
  }

  /**
   * A Connector 401 for the row `rowKey` (a delivery row, a team roster): the credentials, or that
   * conversation? "row" when the Connector accepted a request that left after this row's previous
   * 401 came back and after the latest credential failure came back: the credentials work, this
   * conversation refuses them; then the caller applies the retry table's 401 rule and the pause
   * is not touched. Otherwise "credentials": the caller reports `failed(e)` and releases the row
   * (`retryAtFor401`); the point moves to now (evidence from before this 401, e.g. between two
   * revocations, never fails the row), and while paused the row waits one wait more than the
   * others before it may probe (`waitMs` with its key).
   */
  judge401(rowKey: string): Verdict401 {
    const seen = this.suspects.get(rowKey);
    this.suspects.delete(rowKey);
    if (seen !== undefined && this.acceptedDeparture > Math.max(seen.after, this.failedDeparture)) return "row";
    this.suspects.set(rowKey, { after: this.departures });
    if (this.suspects.size > suspectsMax) this.suspects.delete(this.suspects.keys().next().value as string);
    return "credentials";
  }

  /** The row's request was answered (or the row ended): forget its 401. */
  settled(rowKey: string): void {
    this.suspects.delete(rowKey);
  }

  /**
   * When a row released for a Connector 401 comes due: one wait after the other rows, so that the
   * probe that ends the pause is, when there is one, another row (whose answer is the evidence
   * `judge401` needs) rather than the same conversation again and again.
   */
  get retryAtFor401(): number {
    const now = this.clock.now();
    return Math.max(this.until + Math.max(0, this.until - now), now + 50);
  }

  /**
   * The Connector accepted a request (2xx or `authenticatedAnswer`) that left as `departure`:
   * the credentials work. It ends a pause only when it left after the latest credential failure
   * came back (the probe, or any later request): an answer to a request sent before a revocation
   * says nothing about the credentials now.
   */
  succeeded(departure: number): void {
    this.acceptedDeparture = Math.max(this.acceptedDeparture, departure);
    if (this.failures === 0 || departure <= this.failedDeparture) return;
    this.logger.warn(
      { failures: this.failures, pausedMs: this.since === undefined ? undefined : this.clock.now() - this.since },
      "the bot's credentials work again: sending resumes",
    );
    this.failures = 0;
    this.since = undefined;
    this.until = 0;
    this.reason = undefined;
    this.code = undefined;
    this.probeAt = undefined;
  }

  /**
   * A credential problem of the request that left as `departure` (judged by `judge401` first
   * when a Connector 401): pause (or pause longer). Not when that request left before the latest
   * failure came back: the same failure, still arriving (requests in flight at a revocation), or
   * one a later answer has outdated; it neither adds a step of backoff nor undoes a probe's
   * success. Logged when sending pauses or the reason changes.
   */
  failed(e: ConnectorError, departure: number): void {
    if (departure <= this.failedDeparture) return;
    this.failedDeparture = this.departures;
    const now = this.clock.now();
    // Requests that were in flight when the pause began report the same failure: one step of backoff, not many.
    if (this.failures > 0 && this.probeAt === undefined && now < this.until) return;
    this.failures++;
    this.probeAt = undefined;
    this.since ??= now;
    const delay = credentialDelay(this.failures, e.retryAfterMs, this.policy);
    this.until = now + delay;
    this.delay = delay;
    const reason = summary(e);
    const changed = reason !== this.reason;
    this.reason = reason;
    this.code = e.source === "token" ? e.heraldCode : "HERALD_E_CONNECTOR_401";
    const facts = { code: this.code, status: e.status, oauthError: e.code, failures: this.failures, retryInMs: delay, err: e.message };
    // One line when sending pauses and when the reason changes; the probes in between at debug.
    if (this.failures === 1)
      this.logger.error(facts, "the bot's credentials fail: sending is paused (rows wait, none fail) and retried with backoff");
    else if (changed) this.logger.warn(facts, "the bot's credentials still fail, for another reason: sending stays paused");
    else this.logger.debug(facts, "the bot's credentials still fail: sending stays paused");
  }

  state(): CredentialState {
    if (this.failures === 0) return { ok: true, failures: 0 };
    return {
      ok: false,
      reason: this.reason,
      code: this.code,
      since: this.since === undefined ? undefined : new Date(this.since).toISOString(),
      retryAt: new Date(this.until).toISOString(),
      failures: this.failures,
    };
  }
}

/** What `/readyz` may say about a credential failure: the status and OAuth error, never the URL or the server's words (logs have those). */
function summary(e: ConnectorError): string {
  const who = e.source === "token" ? "The token endpoint" : "The Connector";
  if (e.kind === "http") return `${who} answered ${[String(e.status), e.code].filter(Boolean).join(" ")}.`;
  return `${who} could not be reached (${e.kind}).`;
}
