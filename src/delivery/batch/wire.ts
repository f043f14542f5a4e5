import type { Clock } from "../../clock.js";
import type { BatchConnector } from "../../connector/batch.js";
import type { OutgoingActivity } from "../../connector/client.js";
import type { Logger } from "../../log.js";
import type { DeliveryConfig } from "../config.js";
import { CredentialGate } from "../dispatch/credentials.js";
import { DeliveryError } from "../errors.js";
import type { RateLimiter } from "../limits/index.js";
import type { Policies } from "../policies.js";
import type { NotificationRequest } from "../request.js";
import type { DeliveryStore } from "../store/port.js";
import { choosePath, type DeliveryPath } from "./decide.js";
import { leaveBatchRows } from "./dispatch-store.js";
import type { BatchStore } from "./port.js";
import { BatchRunner, type BatchSettings, defaultBatchSettings } from "./runner.js";

/** What the engine gives the batch path. */
export interface BatchPathDeps {
  /** Absent: no store support (batch requests are refused, `auto` sends one by one). */
  store: BatchStore | undefined;
  /** Absent: the Connector has no batch calls (a test double, a library's own client). */
  connector: BatchConnector | undefined;
  deliveries: DeliveryStore;
  limiter: RateLimiter;
  policies: Policies;
  clock: Clock;
  logger: Logger;
  config: Readonly<DeliveryConfig>;
  /** This process's worker id (its heartbeat says it is alive). */
  owner: string;
  /** The process's credential gate, shared with single sends (default: one of the batch path's own). */
  credentials?: CredentialGate | undefined;
  settings?: Partial<BatchSettings> | undefined;
  activityOf: (notificationId: string) => Promise<OutgoingActivity | undefined>;
  /** Kick the dispatcher (rows the batch path left are then sent one by one). */
  kickDispatcher: () => void;
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
  refuseEditOrRecall(id: string, what: "edited" | "recalled"): Promise<void>;
  /** The store the dispatcher gets. */
  dispatchStore: DeliveryStore;
  start(active: readonly string[]): Promise<void>;
  stop(): Promise<void>;
}

/** Build the batch path (a no-op path when the store or the Connector cannot do batches). */
export function createBatchPath(d: BatchPathDeps): BatchPath {
  const given = { ...defaultBatchSettings, ...d.settings };
  // A time-scaled emulator (benchmarks) answers that much sooner: poll that much more often too.
  const settings = { ...given, pollMs: given.pollMs / d.config.timeScale };
  const runner =
    d.store && d.connector
      ? new BatchRunner({
          store: d.store,
          deliveries: d.deliveries,
          connector: d.connector,
          limiter: d.limiter,
          policies: d.policies,
          clock: d.clock,
          logger: d.logger.child({ component: "batch" }),
          settings,
          inFlightPolicy: d.config.inFlightPolicy,
          owner: d.owner,
          staleMs: d.config.staleMs,
          sweepMs: d.config.heartbeatMs,
          credentials: d.credentials ?? new CredentialGate(d.clock, d.logger, d.config.credentialBackoff),
          serviceUrlOf: () => d.config.defaultServiceUrl,
          activityOf: d.activityOf,
          handBack: () => d.kickDispatcher(),
          setConversationStatus: d.conversations?.setStatus.bind(d.conversations),
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
  return {
    pathFor(request) {
      const path = choosePath(request.delivery?.mode ?? "individual", request);
      if (path === "batch" && !runner) {
        if (request.delivery?.mode === "batch")
          throw new DeliveryError(
            "HERALD_E_BATCH_UNAVAILABLE",
            'delivery.mode "batch": the batch path is off on this Herald (HERALD_BATCH=on turns it on; docs/batch.md says what it does not do yet); use delivery.mode "individual".',
          );
        return "individual";
      }
      return path;
    },
    mark: (id) => runner?.mark(id),
    unmark: (id) => runner?.unmark(id),
    kick: (id) => runner?.kick(id),
    async refuseEditOrRecall(id, what) {
      if (!d.store) return;
      if (runner?.isBatch(id) || (await d.store.batchNotifications([id])).length > 0)
        throw new DeliveryError(
          "HERALD_E_BATCH_NO_ACTIVITY_IDS",
          `Notification ${id} was sent with delivery.mode "batch": Teams returns no activity ids for batch sends, so it cannot be ${what}. Send a correction as a new notification (delivery.mode "individual" keeps edit and recall).`,
        );
    },
    dispatchStore: runner ? leaveBatchRows(d.deliveries, (id) => runner.isBatch(id), onActive) : d.deliveries,
    start: (active) => runner?.start(active) ?? Promise.resolve(),
    stop: () => runner?.stop() ?? Promise.resolve(),
  };
}
