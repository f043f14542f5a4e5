import type { Clock } from "../../clock.js";
import type { BatchConnector } from "../../connector/batch.js";
import type { OutgoingActivity } from "../../connector/client.js";
import { ConnectorError } from "../../connector/errors.js";
import type { Logger } from "../../log.js";
import type { DeliveryConfig } from "../config.js";
import { CredentialGate } from "../dispatch/credentials.js";
import type { Liveness } from "../dispatch/liveness.js";
import { DeliveryError } from "../errors.js";
import type { RateLimiter } from "../limits/index.js";
import type { Policies } from "../policies.js";
import type { NotificationRequest } from "../request.js";
import type { DeliveryStore } from "../store/port.js";
import { cancelOperation } from "./cancel.js";
import { choosePath, type DeliveryPath } from "./decide.js";
import { leaveBatchRows } from "./dispatch-store.js";
import type { OperationDeps } from "./operation.js";
import type { BatchOutcome, BatchStore } from "./port.js";
import { BatchRunner, type BatchSettings, defaultBatchSettings, type TenantPauses } from "./runner.js";

/** What the engine gives the batch path. */
export interface BatchPathDeps {
  /** Absent: no store support (batch requests are refused, `auto` sends one by one). */
  store: BatchStore | undefined;
  /** Absent: the Connector has no batch calls (a test double, a library's own client). */
  connector: BatchConnector | undefined;
  deliveries: DeliveryStore;
  /** The process's worker id (the dispatcher's: its heartbeat keeps rows being taken alive for recovery). */
  workerId: string;
  limiter: RateLimiter;
  policies: Policies;
  clock: Clock;
  logger: Logger;
  config: Readonly<DeliveryConfig>;
  /** This process's worker id (its heartbeat says it is alive). */
  owner: string;
  /** The process's credential gate, shared with single sends (default: one of the batch path's own). */
  credentials?: CredentialGate | undefined;
  /** Whether this process may judge others dead (the dispatcher's heartbeats); default: always (a test's path). */
  liveness?: Pick<Liveness, "mayJudgeOthers" | "beatWithinMs"> | undefined;
  /** Whether this process holds every request (Liveness.fenced, on a shared store); default: never (a test's path). */
  fenced?: (() => boolean) | undefined;
  settings?: Partial<BatchSettings> | undefined;
  activityOf: (notificationId: string) => Promise<OutgoingActivity | undefined>;
  /** Kick the dispatcher (rows the batch path left are then sent one by one). */
  kickDispatcher: () => void;
  /** The dispatcher's tenant pauses (BotDisabledByAdmin): a batch submit's 403 pauses the tenant as a single send's does. */
  tenants?: TenantPauses | undefined;
  /** Stored conversations (blocked and uninstalled ones are marked after an operation). */
  conversations?: { setStatus(id: string, status: "blocked" | "uninstalled", code: string, at: string): Promise<unknown> } | undefined;
}

/** The batch path as the engine uses it (src/delivery/engine.ts): a few calls at fixed points. */
export interface BatchPath {
  /** The path of a request; throws DeliveryError HERALD_E_BATCH_UNAVAILABLE when batch is asked of a Herald without it. */
  pathFor(request: NotificationRequest): DeliveryPath;
  mark(id: string): void;
  unmark(id: string): void;
  kick(id: string): void;
  /** Throws HERALD_E_BATCH_NO_ACTIVITY_IDS when the notification went (or goes) through the batch path. */
  refuseEdit(id: string): Promise<void>;
  /**
   * After the store's recall (rows not yet submitted are `canceled`): ask Teams to cancel the
   * notification's operations still running, and say what cannot be taken back. Undefined when
   * the notification did not take the batch path.
   */
  recall(id: string): Promise<BatchRecall | undefined>;
  /** What the batch path did in this process (added to the engine's figures: herald_deliveries_total...). */
  readonly stats: BatchPathStats;
  /** The store the dispatcher gets. */
  dispatchStore: DeliveryStore;
  start(active: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

/** What `DELETE /v1/notifications/{id}` of a batch notification adds to its answer (`batch`). */
export interface BatchRecall {
  /** Copies Teams' batch API delivered so far: they have no activity id and stay in the chats. */
  notRecallable: number;
  /** Operations still running that Herald asked Teams to cancel. */
  operationsCanceled: number;
  /** The same in words, with what to do. */
  message: string;
}

/** Counters of the batch path in this process, as the dispatcher's DispatchStats counts single sends. */
export interface BatchPathStats {
  /** Requests to Teams (submits, polls, failed-entry pages, cancels). */
  requests: number;
  /** 429 answers. */
  throttled: number;
  /** Rows that ended sent, failed (blocked, notFound included, as single sends count them) or unknown. */
  sent: number;
  failed: number;
  unknown: number;
}

/** The batch calls, each counted in `stats` (a 429 also as throttled). */
function countedConnector(inner: BatchConnector, stats: BatchPathStats): BatchConnector {
  const count =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      stats.requests++;
      try {
        return await call(...args);
      } catch (e) {
        if (e instanceof ConnectorError && e.status === 429) stats.throttled++;
        throw e;
      }
    };
  return {
    startBatch: count(inner.startBatch.bind(inner)),
    getBatchState: count(inner.getBatchState.bind(inner)),
    getBatchFailedEntries: count(inner.getBatchFailedEntries.bind(inner)),
    cancelBatch: count(inner.cancelBatch.bind(inner)),
  };
}

/**
 * The store as the runner uses it: rows are taken under the process's worker id (`take`), and
 * every row outcome written is counted in `stats` (`settle`).
 */
function pathStore(inner: BatchStore, stats: BatchPathStats, workerId: string): BatchStore {
  const tally = (status: BatchOutcome["status"], rows: number) => {
    if (status === "sent") stats.sent += rows;
    else if (status === "unknown") stats.unknown += rows;
    else if (status !== "canceled") stats.failed += rows;
  };
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === "take")
        return (...args: Parameters<BatchStore["take"]>) =>
          target.take(args[0], args[1], args[2], args[3], args[4] ?? workerId, args[5], args[6]);
      if (prop === "settle")
        return (...args: Parameters<BatchStore["settle"]>) =>
          target.settle(args[0], args[1], args[2], args[3], args[4], (status, rows) => {
            tally(status, rows);
            args[5]?.(status, rows);
          });
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** Build the batch path (a no-op path when the store or the Connector cannot do batches). */
export function createBatchPath(d: BatchPathDeps): BatchPath {
  const given = { ...defaultBatchSettings, ...d.settings };
  // A time-scaled emulator (benchmarks) answers that much sooner: poll that much more often too.
  const settings = { ...given, pollMs: given.pollMs / d.config.timeScale };
  const stats: BatchPathStats = { requests: 0, throttled: 0, sent: 0, failed: 0, unknown: 0 };
  const connector = d.connector && countedConnector(d.connector, stats);
  const abort = new AbortController();
  const credentials = d.credentials ?? new CredentialGate(d.clock, d.logger, d.config.credentialBackoff);
  const runner =
    d.store && connector
      ? new BatchRunner({
          store: pathStore(d.store, stats, d.workerId),
          deliveries: d.deliveries,
          connector,
          limiter: d.limiter,
          policies: d.policies,
          clock: d.clock,
          logger: d.logger.child({ component: "batch" }),
          settings,
          inFlightPolicy: d.config.inFlightPolicy,
          owner: d.owner,
          staleMs: d.config.staleMs,
          sweepMs: d.config.heartbeatMs,
          mayJudgeOthers: () => d.liveness?.mayJudgeOthers() ?? true,
          selfBeatWithinMs: d.liveness?.beatWithinMs,
          fenced: d.fenced,
          credentials,
          serviceUrlOf: () => d.config.defaultServiceUrl,
          activityOf: d.activityOf,
          handBack: () => d.kickDispatcher(),
          setConversationStatus: d.conversations?.setStatus.bind(d.conversations),
          tenants: d.tenants,
        })
      : undefined;
  const checked = new Set<string>();
  const onActive = (active: readonly { id: string; status: string }[]) => {
    if (!runner || !d.store) return;
    for (const n of active) if (n.status !== "scheduled" && runner.isBatch(n.id)) runner.kick(n.id);
    // Another process may have started a batch notification: look once per notification.
    const unknown = active.filter((n) => !checked.has(n.id) && !runner.isBatch(n.id)).map((n) => n.id);
    if (unknown.length === 0) return;
    for (const id of unknown) checked.add(id);
    void d.store.batchNotifications(unknown).then(
      (ids) => {
        for (const id of ids) {
          runner.mark(id);
          runner.kick(id);
        }
      },
      () => {
        for (const id of unknown) checked.delete(id);
      },
    );
  };
  /** Whether the notification is (or was) on the batch path: marked here, or a row of it carries a batch code. */
  const isBatch = async (id: string): Promise<boolean> =>
    d.store !== undefined && (runner?.isBatch(id) === true || (await d.store.batchNotifications([id])).length > 0);
  return {
    pathFor(request) {
      const path = choosePath(request.delivery?.mode ?? "individual", request);
      if (path === "batch" && !runner) {
        if (request.delivery?.mode === "batch")
          throw new DeliveryError(
            "HERALD_E_BATCH_UNAVAILABLE",
            'delivery.mode "batch": the batch path is off on this Herald (HERALD_BATCH=on turns it on; docs/batch.md says what a batch notification cannot do); use delivery.mode "individual".',
          );
        return "individual";
      }
      return path;
    },
    mark: (id) => runner?.mark(id),
    unmark: (id) => runner?.unmark(id),
    kick: (id) => runner?.kick(id),
    async refuseEdit(id) {
      if (await isBatch(id))
        throw new DeliveryError(
          "HERALD_E_BATCH_NO_ACTIVITY_IDS",
          `Notification ${id} was sent with delivery.mode "batch": Teams returns no activity ids for batch sends, so it cannot be edited. Send a correction as a new notification (delivery.mode "individual" keeps edit and recall).`,
        );
    },
    async recall(id) {
      if (!d.store || !connector || !(await isBatch(id))) return undefined;
      const view = await d.store.recallView(id);
      const op: OperationDeps = {
        connector,
        limiter: d.limiter,
        policies: d.policies,
        clock: d.clock,
        credentials,
        pollMs: settings.pollMs,
        backoffMs: 500,
        maxBackoffMs: Math.min(30_000, settings.pollMs * 15),
        maxTransient: 8,
        signal: abort.signal,
      };
      let operationsCanceled = 0;
      for (const o of view.operations) {
        const serviceUrl = o.serviceUrl ?? d.config.defaultServiceUrl;
        if (await cancelOperation(op, serviceUrl, o.tenantId, o.operationId)) operationsCanceled++;
        else
          d.logger.warn(
            { notificationId: id, operationId: o.operationId },
            "Teams did not cancel a batch operation of a recalled notification",
          );
      }
      const n = view.sentWithoutActivityId;
      return {
        notRecallable: n,
        operationsCanceled,
        message:
          `Sent with delivery.mode "batch": Teams returns no activity id for batch sends, so the ${n} ${n === 1 ? "copy" : "copies"} it delivered cannot be deleted from the chats (send a correction as a new notification). ` +
          `Rows not yet submitted are canceled${view.operations.length > 0 ? `; Herald asked Teams to cancel ${view.operations.length} running ${view.operations.length === 1 ? "operation" : "operations"} (their rows end canceled when Teams sent none of them, else sent or unknown as Teams reports)` : ""}.`,
      };
    },
    stats,
    dispatchStore: runner ? leaveBatchRows(d.deliveries, (id, tenantId) => runner.keeps(id, tenantId), onActive) : d.deliveries,
    start: (active) => runner?.start(active) ?? Promise.resolve(),
    stop: async () => {
      abort.abort();
      await runner?.stop();
    },
  };
}
