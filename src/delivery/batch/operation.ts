import type { Clock } from "../../clock.js";
import type { BatchConnector, BatchKind, BatchState } from "../../connector/batch.js";
import type { OutgoingActivity } from "../../connector/client.js";
import { ConnectorError } from "../../connector/errors.js";
import type { RateLimiter } from "../limits/index.js";
import type { Policies } from "../policies.js";
import { tenantBucket } from "../policies.js";
import { classifyFailure } from "../retry.js";

/**
 * The I/O of one batch operation: submit it and poll it to its end, each request taking a slot
 * of the tenant's bucket (Teams counts batch calls against the same per-tenant ceiling as sends,
 * and so does the emulator) and honouring Retry-After, which blocks the tenant's bucket for
 * every sender in the process (and, with Redis, every process).
 */
export interface OperationDeps {
  connector: BatchConnector;
  limiter: RateLimiter;
  policies: Policies;
  clock: Clock;
  /** Wait between two state polls, in ms (Teams' `retryAfter` in the answer wins when longer). */
  pollMs: number;
  /** Backoff after a transient failure (5xx, network), in ms. */
  backoffMs: number;
  /** Transient failures in a row before giving up. */
  maxTransient: number;
  signal: AbortSignal;
}

/** Counters of what the batch path asked Teams (metrics and the benchmark). */
export const batchStats = { submits: 0, polls: 0, failedPages: 0, throttled: 0, transient: 0 };

/** How a submit ended. */
export type SubmitResult =
  | { kind: "started"; operationId: string }
  /** Certainly not acted on by Teams, and not worth repeating as is (400, 403, 413, 500...). */
  | {
      kind: "refused";
      status: number | undefined;
      code: string;
      message: string;
      outcome: "failed" | "blocked" | "notFound" | "tenantDisabled";
    }
  /** The request may have reached Teams without an answer: whether an operation started is unknown. */
  | { kind: "inDoubt"; message: string };

/** Take one slot of the tenant's bucket, waiting as long as it says. */
export async function slot(d: OperationDeps, tenantId: string): Promise<void> {
  const bucket = tenantBucket(d.policies, tenantId);
  for (;;) {
    const wait = await d.limiter.tryAcquire([bucket], d.clock.now());
    if (wait === 0) return;
    await d.clock.sleep(wait, d.signal);
  }
}

/** A 429: block the tenant's bucket until Retry-After (default 1 s) and count it. */
async function throttled(d: OperationDeps, tenantId: string, e: ConnectorError): Promise<void> {
  batchStats.throttled++;
  await d.limiter.block(`tenant:${tenantId}`, d.clock.now() + (e.retryAfterMs ?? 1_000));
}

const transient = (e: ConnectorError): boolean => {
  if (e.status === 429) return false;
  return classifyFailure(e).outcome === "retry";
};

/** Submit one operation; retries 429 (after Retry-After) and transient failures that cannot have reached Teams. */
export async function submit(
  d: OperationDeps,
  serviceUrl: string,
  kind: BatchKind,
  tenantId: string,
  activity: OutgoingActivity,
  members: readonly string[],
): Promise<SubmitResult> {
  let failures = 0;
  for (;;) {
    await slot(d, tenantId);
    try {
      batchStats.submits++;
      const operationId = await d.connector.startBatch(
        serviceUrl,
        kind,
        { activity, tenantId, members: members.map((id) => ({ id })) },
        d.signal,
      );
      return { kind: "started", operationId };
    } catch (e) {
      if (!(e instanceof ConnectorError) || e.kind === "aborted") throw e;
      if (e.status === 429) {
        await throttled(d, tenantId, e);
        continue;
      }
      // No answer after the request was written: Teams may have started the operation.
      if (e.status === undefined && e.mayHaveArrived) return { kind: "inDoubt", message: e.message };
      if (transient(e) && ++failures < d.maxTransient) {
        batchStats.transient++;
        await d.clock.sleep(d.backoffMs * 2 ** Math.min(failures, 8), d.signal);
        continue;
      }
      const row = classifyFailure(e);
      const outcome = row.outcome === "blocked" || row.outcome === "notFound" || row.outcome === "tenantDisabled" ? row.outcome : "failed";
      const code = e.status === undefined ? `network/${e.kind}` : [e.status, e.code, e.subCode].filter(Boolean).join("/");
      return { kind: "refused", status: e.status, code, message: e.message, outcome };
    }
  }
}

/** Poll until the operation is no longer running (or Teams forgot it: 404); undefined = forgotten. */
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
    next = Math.min(d.pollMs, next * 2);
    wait = next;
    await slot(d, tenantId);
    try {
      batchStats.polls++;
      const state = await d.connector.getBatchState(serviceUrl, operationId, d.signal);
      failures = 0;
      if (!running(state.state)) return state;
      if (state.retryAfterMs !== undefined && state.retryAfterMs > wait) wait = state.retryAfterMs;
    } catch (e) {
      if (!(e instanceof ConnectorError) || e.kind === "aborted") throw e;
      if (e.status === 429) {
        await throttled(d, tenantId, e);
        wait = 0;
        continue;
      }
      if (e.status === 404) return undefined;
      batchStats.transient++;
      if (++failures >= d.maxTransient) throw e;
      wait = d.backoffMs * 2 ** Math.min(failures, 8);
    }
  }
}

/** Every failed entry of a finished operation, page by page. */
export async function failedEntries(
  d: OperationDeps,
  serviceUrl: string,
  tenantId: string,
  operationId: string,
): Promise<{ id: string; error: string }[]> {
  const all: { id: string; error: string }[] = [];
  let token: string | undefined;
  let failures = 0;
  do {
    await slot(d, tenantId);
    try {
      batchStats.failedPages++;
      const page = await d.connector.getBatchFailedEntries(serviceUrl, operationId, token, d.signal);
      all.push(...page.entries);
      token = page.continuationToken;
      failures = 0;
    } catch (e) {
      if (!(e instanceof ConnectorError) || e.kind === "aborted") throw e;
      if (e.status === 429) {
        await throttled(d, tenantId, e);
        continue;
      }
      batchStats.transient++;
      if (++failures >= d.maxTransient) throw e;
      await d.clock.sleep(d.backoffMs * 2 ** Math.min(failures, 8), d.signal);
    }
  } while (token !== undefined);
  return all;
}
