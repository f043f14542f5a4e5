import type { Clock } from "../../clock.js";
import type { BatchConnector, BatchKind, BatchState } from "../../connector/batch.js";
import type { OutgoingActivity } from "../../connector/client.js";
import { ConnectorError } from "../../connector/errors.js";
import { authenticatedAnswer, type CredentialGate, isCredentialFailure } from "../dispatch/credentials.js";
import type { RateLimiter } from "../limits/index.js";
import type { Policies } from "../policies.js";
import { tenantBucket } from "../policies.js";
import { classifyFailure, maxRetryAfterHoldMs } from "../retry.js";

/**
 * The I/O of one batch operation: submit it and poll it to its end, each request taking a slot
 * of the tenant's bucket (Teams counts batch calls against the same per-tenant ceiling as sends,
 * and so does the emulator) and honouring Retry-After, which blocks the tenant's bucket for
 * every sender in the process (and, with Redis, every process). Every request also passes the
 * process's credential gate (dispatch/credentials.ts): while the bot's credentials fail, nothing
 * is sent and nothing fails; the request waits and goes when they work again.
 */
export interface OperationDeps {
  connector: BatchConnector;
  limiter: RateLimiter;
  policies: Policies;
  clock: Clock;
  /** The process's credential gate, shared with single sends. */
  credentials: CredentialGate;
  /** Wait between two state polls, in ms (Teams' `retryAfter` in the answer wins when longer). */
  pollMs: number;
  /** Backoff after a transient failure (5xx, network), in ms; doubles per failure in a row. */
  backoffMs: number;
  /** Longest backoff between two tries of a poll or a failed-entries page, in ms (a Retry-After wins). */
  maxBackoffMs: number;
  /** Transient failures of a submit in a row before giving up. */
  maxTransient: number;
  signal: AbortSignal;
  /**
   * Whether sending to the tenant is paused (its admin disabled the bot: 403 BotDisabledByAdmin),
   * as the dispatcher's lanes see it: a submit for a paused tenant is not sent. Default: never.
   */
  isPaused?: ((tenantId: string) => boolean) | undefined;
  /**
   * Pause the tenant exactly as a single send's 403 BotDisabledByAdmin does (the dispatcher's
   * pause: in memory at once, in the store before this resolves). Default: nothing paused.
   */
  pauseTenant?: ((tenantId: string, code: string) => Promise<void>) | undefined;
  /**
   * Whether this process holds every request (Liveness.fenced: its heartbeats have not reached the
   * database for nearly staleMs, so the others may take over its submits): a submit not yet sent
   * is not sent, and its rows go back. Default: never.
   */
  fenced?: (() => boolean) | undefined;
}

/** How a submit ended. */
export type SubmitResult =
  | { kind: "started"; operationId: string }
  /** Certainly not acted on by Teams, and not worth repeating as is (400, 403, 413, 500...). */
  | {
      kind: "refused";
      status: number | undefined;
      code: string;
      message: string;
      outcome: "failed" | "blocked" | "notFound";
    }
  /**
   * 403 BotDisabledByAdmin: the tenant's admin disabled the bot. Teams did not act on it; the rows
   * wait with the tenant's pause, as single sends' rows do. `code` is Teams' (`BotDisabledByAdmin`).
   */
  | { kind: "tenantDisabled"; code: string; message: string }
  /** Not sent: the tenant is paused (BotDisabledByAdmin); the rows go back to the ready queue. */
  | { kind: "paused" }
  /**
   * The request may have reached Teams without a usable answer (no answer after it was written,
   * or a 502/504 from a gateway in front of Teams): whether an operation started is unknown.
   */
  | { kind: "inDoubt"; code: string; message: string }
  /** Herald is stopping, or fenced off (see `fenced`), and the request never left: the rows can simply be taken again. */
  | { kind: "notSent" };

/** Take one slot of the tenant's bucket, waiting as long as it says. */
export async function slot(d: OperationDeps, tenantId: string): Promise<void> {
  const bucket = tenantBucket(d.policies, tenantId);
  for (;;) {
    const wait = await d.limiter.tryAcquire([bucket], d.clock.now());
    if (wait === 0) return;
    await d.clock.sleep(wait, d.signal);
  }
}

/** Pass the credential gate (waiting while sending is paused; `key` refused with a 401 waits one wait more); resolves with when it was entered. */
async function credentialsOk(d: OperationDeps, key: string): Promise<number> {
  for (;;) {
    const now = d.clock.now();
    const wait = d.credentials.waitMs(now, key);
    if (wait === 0 && d.credentials.enter(now, key)) return now;
    await d.clock.sleep(Math.max(wait, 50), d.signal);
  }
}

/**
 * A request through both gates; resolves with its answer, or with `{failed}` (the gate told).
 * A credential failure pauses the gate and is retried after it (`again`); `key` names the
 * request to the gate (a 401 only for it, while others are accepted, is that request's own).
 * `hold`, asked after each wait (the tenant's slot, the credential gate), keeps the request
 * from leaving (`{held}`): a submit for a tenant paused meanwhile is not sent.
 */
async function gated<T>(
  d: OperationDeps,
  tenantId: string,
  key: string,
  request: () => Promise<T>,
  hold?: () => boolean,
): Promise<{ ok: T } | { again: true } | { held: true } | { failed: ConnectorError; enteredAt: number }> {
  await slot(d, tenantId);
  if (hold?.()) return { held: true };
  const enteredAt = await credentialsOk(d, key);
  if (hold?.()) {
    d.credentials.lost(enteredAt);
    return { held: true };
  }
  const departure = d.credentials.depart();
  try {
    const ok = await request();
    d.credentials.succeeded(departure);
    d.credentials.settled(key);
    return { ok };
  } catch (e) {
    if (!(e instanceof ConnectorError) || e.kind === "aborted") {
      d.credentials.lost(enteredAt);
      throw e;
    }
    if (isCredentialFailure(e) && (e.source === "token" || d.credentials.judge401(key) === "credentials")) {
      d.credentials.failed(e, departure);
      return { again: true };
    }
    if (authenticatedAnswer(e)) {
      d.credentials.succeeded(departure);
      d.credentials.settled(key);
    } else d.credentials.lost(enteredAt);
    return { failed: e, enteredAt };
  }
}

/** A 429: block the tenant's bucket until Retry-After (default 1 s, at most 30 min). */
export async function throttled(d: Pick<OperationDeps, "limiter" | "clock">, tenantId: string, e: ConnectorError): Promise<void> {
  await d.limiter.block(`tenant:${tenantId}`, d.clock.now() + Math.min(e.retryAfterMs ?? 1_000, maxRetryAfterHoldMs));
}

const transient = (e: ConnectorError): boolean => {
  if (e.status === 429) return false;
  return classifyFailure(e).outcome === "retry";
};

/** Teams' code of an error, as the dispatcher names a tenant's pause (`BotDisabledByAdmin`). */
const teamsCode = (e: ConnectorError): string => e.subCode ?? e.code ?? String(e.status ?? "");

/**
 * A read (poll, failed-entries page) answered 403 BotDisabledByAdmin: the tenant is paused as a
 * single send's 403 pauses it (its other rows stop going out); the read itself is asked again
 * with backoff like any failed read, since the operation's rows were handed to Teams already and
 * only Teams' report can end them.
 */
async function pauseIfDisabled(d: OperationDeps, tenantId: string, e: ConnectorError): Promise<void> {
  if (e.status === 403 && classifyFailure(e).outcome === "tenantDisabled") await d.pauseTenant?.(tenantId, teamsCode(e));
}

/** Statuses of a gateway in front of Teams that may have passed the request on before it failed. */
const gatewayStatuses: ReadonlySet<number> = new Set([502, 504]);

const isAbort = (d: OperationDeps, e: unknown): boolean =>
  d.signal.aborted && !(e instanceof ConnectorError && e.kind !== "aborted" && e.mayHaveArrived);

/**
 * Submit one operation; retries 429 (after Retry-After), credential failures (after the gate's
 * pause) and transient failures that cannot have reached Teams. The request itself is not
 * aborted when Herald stops (its answer is worth waiting for: an operation id on the rows is
 * polled again after the restart, while a cut request leaves them in doubt).
 */
export async function submit(
  d: OperationDeps,
  serviceUrl: string,
  kind: BatchKind,
  tenantId: string,
  activity: OutgoingActivity,
  members: readonly string[],
  key: string,
): Promise<SubmitResult> {
  let failures = 0;
  const paused = () => d.isPaused?.(tenantId) === true;
  const fenced = () => d.fenced?.() === true;
  for (;;) {
    let r: Awaited<ReturnType<typeof gated<string>>>;
    try {
      if (d.signal.aborted || fenced()) return { kind: "notSent" };
      if (paused()) return { kind: "paused" };
      r = await gated(
        d,
        tenantId,
        key,
        () => d.connector.startBatch(serviceUrl, kind, { activity, tenantId, members: members.map((id) => ({ id })) }),
        () => paused() || fenced(),
      );
    } catch (e) {
      if (isAbort(d, e)) return { kind: "notSent" };
      throw e;
    }
    if ("ok" in r) return { kind: "started", operationId: r.ok };
    if ("again" in r) continue;
    if ("held" in r) return fenced() ? { kind: "notSent" } : { kind: "paused" };
    const e = r.failed;
    if (e.status === 429) {
      await throttled(d, tenantId, e);
      continue;
    }
    // An answer that does not say Teams did nothing: Teams may have started the operation.
    if (e.status === undefined && e.mayHaveArrived) return { kind: "inDoubt", code: `network/${e.kind}`, message: e.message };
    if (e.status !== undefined && gatewayStatuses.has(e.status))
      return { kind: "inDoubt", code: [e.status, e.code].filter(Boolean).join("/"), message: e.message };
    if (transient(e) && ++failures < d.maxTransient) {
      try {
        await d.clock.sleep(d.backoffMs * 2 ** Math.min(failures, 8), d.signal);
      } catch (x) {
        if (isAbort(d, x)) return { kind: "notSent" };
        throw x;
      }
      continue;
    }
    const row = classifyFailure(e);
    // As a single send's: the tenant pauses and the rows wait (no row fails, no attempt counts).
    if (row.outcome === "tenantDisabled") return { kind: "tenantDisabled", code: teamsCode(e), message: e.message };
    const outcome = row.outcome === "blocked" || row.outcome === "notFound" ? row.outcome : "failed";
    const code = e.status === undefined ? `network/${e.kind}` : [e.status, e.code, e.subCode].filter(Boolean).join("/");
    return { kind: "refused", status: e.status, code, message: e.message, outcome };
  }
}

/** The wait after `failures` failed reads in a row: backoff doubling up to maxBackoffMs, never shorter than a Retry-After (itself at most 30 min). */
export function readBackoff(
  d: Pick<OperationDeps, "backoffMs" | "maxBackoffMs">,
  failures: number,
  retryAfterMs: number | undefined,
): number {
  const exp = Math.min(d.maxBackoffMs, d.backoffMs * 2 ** Math.min(Math.max(0, failures - 1), 20));
  return Math.max(exp, Math.min(retryAfterMs ?? 0, maxRetryAfterHoldMs));
}

/**
 * Poll until the operation is no longer running (or Teams forgot it: 404); undefined = forgotten.
 * A failed poll never ends the wait: it is asked again after a backoff (a Retry-After wins), for
 * as long as it takes; only Herald stopping ends it (the operation stays on its rows).
 */
export async function pollUntilDone(
  d: OperationDeps,
  serviceUrl: string,
  tenantId: string,
  operationId: string,
  running: (state: string) => boolean,
): Promise<BatchState | undefined> {
  let failures = 0;
  // Ask first after a quarter of pollMs, then twice as late each time, up to pollMs: a small
  // operation is done at the first look, a large one is asked a few times, never more than 1/pollMs.
  let next = d.pollMs / 4;
  let wait = next;
  for (;;) {
    if (wait > 0) await d.clock.sleep(wait, d.signal);
    const r = await gated(d, tenantId, `batch-poll:${operationId}`, () => d.connector.getBatchState(serviceUrl, operationId, d.signal));
    if ("again" in r || "held" in r) {
      wait = 0;
      continue;
    }
    if ("ok" in r) {
      failures = 0;
      const state = r.ok;
      if (!running(state.state)) return state;
      next = Math.min(d.pollMs, next * 2);
      wait = next;
      if (state.retryAfterMs !== undefined && state.retryAfterMs > wait) wait = Math.min(state.retryAfterMs, maxRetryAfterHoldMs);
      continue;
    }
    const e = r.failed;
    if (e.status === 429) {
      await throttled(d, tenantId, e);
      wait = 0;
      continue;
    }
    if (e.status === 404) return undefined;
    await pauseIfDisabled(d, tenantId, e);
    wait = readBackoff(d, ++failures, e.retryAfterMs);
  }
}

/**
 * Every failed entry of a finished operation, page by page (a failed page is asked again, as a
 * poll is); undefined when Teams no longer knows the operation (404).
 */
export async function failedEntries(
  d: OperationDeps,
  serviceUrl: string,
  tenantId: string,
  operationId: string,
): Promise<{ id: string; error: string }[] | undefined> {
  const all: { id: string; error: string }[] = [];
  let token: string | undefined;
  let failures = 0;
  for (;;) {
    const at = token;
    const r = await gated(d, tenantId, `batch-poll:${operationId}`, () =>
      d.connector.getBatchFailedEntries(serviceUrl, operationId, at, d.signal),
    );
    if ("again" in r || "held" in r) continue;
    if ("ok" in r) {
      all.push(...r.ok.entries);
      token = r.ok.continuationToken;
      failures = 0;
      if (token === undefined) return all;
      continue;
    }
    const e = r.failed;
    if (e.status === 429) {
      await throttled(d, tenantId, e);
      continue;
    }
    if (e.status === 404) return undefined;
    await pauseIfDisabled(d, tenantId, e);
    await d.clock.sleep(readBackoff(d, ++failures, e.retryAfterMs), d.signal);
  }
}
