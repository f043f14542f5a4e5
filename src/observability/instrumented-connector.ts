import type { Clock } from "../clock.js";
import type { BatchConnector } from "../connector/batch.js";
import type { ConnectorClient } from "../connector/client.js";
import { ConnectorError } from "../connector/errors.js";
import type { Metrics } from "./metrics.js";

/**
 * The same Connector client, timing every request (herald_send_duration_seconds by operation
 * and outcome) and counting the 429s Teams answers. A decorator, so neither the client nor the
 * engine knows about metrics.
 */
export function instrumentConnector(inner: ConnectorClient, metrics: Metrics, clock: Clock): ConnectorClient {
  const timed = timer(metrics, clock);
  return {
    createConversation: timed("createConversation", inner.createConversation.bind(inner)),
    sendToConversation: timed("sendToConversation", inner.sendToConversation.bind(inner)),
    replyToActivity: timed("replyToActivity", inner.replyToActivity.bind(inner)),
    updateActivity: timed("updateActivity", inner.updateActivity.bind(inner)),
    deleteActivity: timed("deleteActivity", inner.deleteActivity.bind(inner)),
    getPagedMembers: timed("getPagedMembers", inner.getPagedMembers.bind(inner)),
    getMember: timed("getMember", inner.getMember.bind(inner)),
    getTeamDetails: timed("getTeamDetails", inner.getTeamDetails.bind(inner)),
    getTeamChannels: timed("getTeamChannels", inner.getTeamChannels.bind(inner)),
  };
}

/** The batch calls (docs/batch.md), timed and their 429s counted the same way as single sends. */
export function instrumentBatchConnector(inner: BatchConnector, metrics: Metrics, clock: Clock): BatchConnector {
  const timed = timer(metrics, clock);
  return {
    startBatch: timed("startBatch", inner.startBatch.bind(inner)),
    getBatchState: timed("getBatchState", inner.getBatchState.bind(inner)),
    getBatchFailedEntries: timed("getBatchFailedEntries", inner.getBatchFailedEntries.bind(inner)),
    cancelBatch: timed("cancelBatch", inner.cancelBatch.bind(inner)),
  };
}

function timer(metrics: Metrics, clock: Clock) {
  return <A extends unknown[], R>(operation: string, call: (...args: A) => Promise<R>) => {
    // One label object per operation for the common answer (Histogram.observe sorts it once).
    const ok = Object.freeze({ operation, outcome: "ok" });
    return async (...args: A): Promise<R> => {
      const start = clock.now();
      try {
        const result = await call(...args);
        metrics.sendLatency.observe((clock.now() - start) / 1000, ok);
        return result;
      } catch (e) {
        const status = e instanceof ConnectorError ? (e.status ?? e.kind) : "error";
        metrics.sendLatency.observe((clock.now() - start) / 1000, { operation, outcome: String(status) });
        if (status === 429) metrics.throttled.inc({ operation });
        throw e;
      }
    };
  };
}
