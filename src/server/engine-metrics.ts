import type { DeliveryEngine } from "../delivery/index.js";
import type { Metrics } from "../observability/metrics.js";

/**
 * The delivery engine's figures, read at scrape time: what this process did (requests, outcomes,
 * retries, 429s) and holds (in flight, buffered, lanes), and the queue depth (recipients still
 * pending in notifications that are queued or sending, from their counters: no row scan).
 */
export function registerEngineMetrics(metrics: Metrics, engine: DeliveryEngine): void {
  metrics.gauge(
    "herald_deliveries_total",
    "Delivery attempts finished by this process, by outcome.",
    () => {
      const s = engine.stats();
      return [
        [{ outcome: "sent" }, s.sent],
        [{ outcome: "failed" }, s.failed],
        [{ outcome: "unknown" }, s.unknown],
      ];
    },
    "counter",
    ["outcome"],
  );
  metrics.gauge(
    "herald_delivery_requests_total",
    "Requests to Teams made by the delivery engine.",
    () => [[{}, engine.stats().requests]],
    "counter",
  );
  metrics.gauge(
    "herald_delivery_retries_total",
    "Attempts scheduled again after a transient failure.",
    () => [[{}, engine.stats().retried]],
    "counter",
  );
  metrics.gauge(
    "herald_delivery_throttled_total",
    "429 answers the delivery engine received.",
    () => [[{}, engine.stats().throttled]],
    "counter",
  );
  metrics.gauge(
    "herald_delivery_credentials_ok",
    "1 while the bot's credentials work; 0 while sending is paused because the token endpoint or the Connector refuses them.",
    () => [[{}, engine.credentials().ok ? 1 : 0]],
  );
  metrics.gauge(
    "herald_delivery_credential_failures",
    "Credential failures in a row (token endpoint or Connector 401) behind the current pause; 0 when sending.",
    () => [[{}, engine.credentials().failures]],
  );
  metrics.gauge(
    "herald_delivery_fenced",
    "1 while this process holds every request because its heartbeats have not reached the database for nearly the lease time (others may take over its work); 0 otherwise.",
    () => [[{}, engine.fenced() ? 1 : 0]],
  );
  metrics.gauge("herald_delivery_in_flight", "Requests to Teams in flight now.", () => [[{}, engine.stats().inFlight]]);
  metrics.gauge("herald_delivery_buffered", "Claimed deliveries waiting for their rate-limit slot.", () => [[{}, engine.stats().buffered]]);
  metrics.gauge("herald_queue_depth", "Recipients still pending in notifications being sent.", async () => {
    let pending = 0;
    // Every notification with work, page by page (they are few: one row each, counters included).
    for (const status of ["queued", "sending"] as const) {
      let cursor: string | undefined;
      do {
        const page = await engine.list({ status }, { limit: 1000, cursor });
        for (const n of page.items) pending += n.counts.pending;
        cursor = page.nextCursor;
      } while (cursor !== undefined);
    }
    return [[{}, pending]];
  });
}
