import client from "prom-client";

/**
 * Herald's Prometheus metrics, on prom-client (the well-kept Node.js client): counters, gauges and
 * histograms in a registry per Herald instance (a test or a library user may run several in one
 * process), plus prom-client's default process metrics (CPU, memory, event-loop lag, GC, handles)
 * in one registry per process, merged in at scrape time.
 *
 * The small classes below keep the interface the rest of Herald uses (`inc`, `get`, `observe`,
 * `gauge(...)`, `render()`), so no caller depends on prom-client. Labels must come from bounded
 * sets (route patterns, outcomes, operations), never from ids.
 */
type Labels = Readonly<Record<string, string>>;

/** Label names are sorted so a series prints the same whichever order the caller wrote them in. */
function sorted(labels: Labels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) out[k] = labels[k] ?? "";
  return out;
}

/** A monotonically increasing count per label set. */
export class Counter {
  private readonly inner: client.Counter<string>;
  /** The same counts, readable synchronously (prom-client's `get()` is async): for tests and sums. */
  private readonly counts = new Map<string, { labels: Labels; value: number }>();
  constructor(name: string, help: string, labelNames: readonly string[], registry: client.Registry) {
    this.inner = new client.Counter({ name, help, labelNames: [...labelNames].sort(), registers: [registry] });
  }
  inc(labels: Labels = {}, by = 1): void {
    const key = sorted(labels);
    this.inner.inc(key, by);
    const k = JSON.stringify(key);
    const entry = this.counts.get(k);
    if (entry) entry.value += by;
    else this.counts.set(k, { labels: key, value: by });
  }
  /** The count of one label set. */
  get(labels: Labels = {}): number {
    return this.counts.get(JSON.stringify(sorted(labels)))?.value ?? 0;
  }
  /** Every label set counted so far, with its count. */
  values(): ReadonlyArray<{ labels: Labels; value: number }> {
    return [...this.counts.values()];
  }
}

/** Observations (seconds) counted into fixed cumulative buckets per label set. */
export class Histogram {
  private readonly inner: client.Histogram<string>;
  /** @param buckets upper bounds in seconds, ascending */
  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[], registry: client.Registry) {
    this.inner = new client.Histogram({ name, help, labelNames: [...labelNames].sort(), buckets: [...buckets], registers: [registry] });
  }
  /** Label objects a caller passes again and again (one per operation and outcome), sorted once. */
  private readonly sortedOf = new WeakMap<Labels, Record<string, string>>();
  /** Labels are read when observed: pass a label object again only unchanged (the timer of each request does). */
  observe(seconds: number, labels: Labels = {}): void {
    let key = this.sortedOf.get(labels);
    if (!key) {
      key = sorted(labels);
      this.sortedOf.set(labels, key);
    }
    this.inner.observe(key, seconds);
  }
}

/** What a scrape-time gauge returns: one value per label set. */
export type GaugeRead = () => Promise<ReadonlyArray<[Labels, number]>> | ReadonlyArray<[Labels, number]>;

let processRegistry: client.Registry | undefined;

/** prom-client's default metrics, collected once per process however many Herald instances run in it. */
function defaultMetrics(): client.Registry {
  if (!processRegistry) {
    processRegistry = new client.Registry();
    client.collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Herald's metrics, one registry per instance. Names follow Prometheus conventions. */
export class Metrics {
  private readonly registry = new client.Registry();
  readonly sendLatency = new Histogram(
    "herald_send_duration_seconds",
    "Latency of Connector requests, by operation.",
    ["operation", "outcome"],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    this.registry,
  );
  readonly throttled = new Counter(
    "herald_connector_throttled_total",
    "429 answers received from the Connector.",
    ["operation"],
    this.registry,
  );
  readonly tokenRefreshes = new Counter("herald_token_refreshes_total", "Outbound token fetches, by result.", ["result"], this.registry);
  readonly inbound = new Counter(
    "herald_inbound_activities_total",
    "Inbound activities, by type and auth result (ok, rejected, invalid).",
    ["type", "result"],
    this.registry,
  );
  readonly apiRequests = new Counter(
    "herald_api_requests_total",
    "API requests, by route and status.",
    ["method", "route", "status"],
    this.registry,
  );
  readonly replies = new Counter(
    "herald_replies_total",
    "The bot's own messages (welcome, answer, submit, survey) stored for the delivery engine, by result (stored, duplicate = a redelivered activity, failed).",
    ["kind", "result"],
    this.registry,
  );
  readonly auditFailures = new Counter(
    "herald_audit_write_failures_total",
    "Audit entries that could not be written after the write they describe committed (logged at error), by action.",
    ["action"],
    this.registry,
  );

  /**
   * Register a value read at scrape time: a gauge (queue depth), or a counter kept elsewhere (the
   * engine's totals). `labelNames` lists every label `read` may return. A read that fails keeps
   * the last values, so one slow store query does not blank the whole scrape.
   */
  gauge(name: string, help: string, read: GaugeRead, type: "gauge" | "counter" = "gauge", labelNames: readonly string[] = []): void {
    let last: ReadonlyArray<[Labels, number]> = [];
    const names = [...labelNames].sort();
    const collect = async (set: (labels: Record<string, string>, value: number) => void, reset: () => void) => {
      try {
        last = await read();
      } catch {
        // keep `last`
      }
      reset();
      for (const [labels, value] of last) set(sorted(labels), value);
    };
    if (type === "counter") {
      new client.Counter({
        name,
        help,
        labelNames: names,
        registers: [this.registry],
        async collect() {
          await collect(
            (labels, value) => this.inc(labels, value),
            () => this.reset(),
          );
        },
      });
    } else {
      new client.Gauge({
        name,
        help,
        labelNames: names,
        registers: [this.registry],
        async collect() {
          await collect(
            (labels, value) => this.set(labels, value),
            () => this.reset(),
          );
        },
      });
    }
  }

  /** The content type of `render()`'s text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Read every gauge, then render this instance's and the process's metrics as Prometheus text. */
  async render(): Promise<string> {
    return client.Registry.merge([defaultMetrics(), this.registry]).metrics();
  }
}
