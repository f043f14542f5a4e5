// Prometheus metrics in the text exposition format (version 0.0.4), kept in process. Small on
// purpose: counters and gauges with labels, and histograms with fixed buckets.
type Labels = Readonly<Record<string, string>>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${escapeLabel(labels[k] ?? "")}"`).join(",");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

interface Metric {
  render(): string;
}

/** A monotonically increasing count per label set (labels must come from a bounded set). */
export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    return lines.join("\n");
  }
}

/** A value read when metrics are scraped: a gauge (queue depth) or a counter kept elsewhere (engine totals). */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => Promise<ReadonlyArray<[Labels, number]>> | ReadonlyArray<[Labels, number]>,
    private readonly type: "gauge" | "counter" = "gauge",
  ) {}
  private last: ReadonlyArray<[Labels, number]> = [];
  async collect(): Promise<void> {
    this.last = await this.read();
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const [labels, v] of this.last) {
      const k = labelKey(labels);
      lines.push(`${this.name}${k ? `{${k}}` : ""} ${v}`);
    }
    return lines.join("\n");
  }
}

/** Observations (seconds) counted into fixed cumulative buckets per label set. */
export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  /** @param buckets upper bounds in seconds, ascending */
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}
  observe(seconds: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(k, s);
    }
    for (let i = 0; i < this.buckets.length; i++)
      if (seconds <= (this.buckets[i] ?? Number.POSITIVE_INFINITY)) s.counts[i] = (s.counts[i] ?? 0) + 1;
    s.sum += seconds;
    s.count += 1;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : "";
      this.buckets.forEach((b, i) => {
        lines.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i] ?? 0}`);
      });
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ""} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ""} ${s.count}`);
    }
    return lines.join("\n");
  }
}

/** Herald's metrics, one registry per process. Names follow Prometheus conventions. */
export class Metrics {
  readonly sendLatency = new Histogram(
    "herald_send_duration_seconds",
    "Latency of Connector requests, by operation.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly throttled = new Counter("herald_connector_throttled_total", "429 answers received from the Connector.");
  readonly tokenRefreshes = new Counter("herald_token_refreshes_total", "Outbound token fetches, by result.");
  readonly inbound = new Counter("herald_inbound_activities_total", "Inbound activities, by type and auth result (ok, rejected, invalid).");
  readonly apiRequests = new Counter("herald_api_requests_total", "API requests, by route and status.");
  readonly auditFailures = new Counter(
    "herald_audit_write_failures_total",
    "Audit entries that could not be written after the write they describe committed (logged at error), by action.",
  );
  private readonly gauges: Gauge[] = [];

  /** Register a gauge read at scrape time (e.g. queue depth from the store). */
  gauge(name: string, help: string, read: ConstructorParameters<typeof Gauge>[2], type: "gauge" | "counter" = "gauge"): void {
    this.gauges.push(new Gauge(name, help, read, type));
  }

  /** Read every gauge, then render all metrics as Prometheus text (a failing gauge keeps its last value). */
  async render(): Promise<string> {
    await Promise.all(this.gauges.map((g) => g.collect().catch(() => undefined)));
    const all: Metric[] = [
      this.sendLatency,
      this.throttled,
      this.tokenRefreshes,
      this.inbound,
      this.apiRequests,
      this.auditFailures,
      ...this.gauges,
    ];
    return `${all.map((m) => m.render()).join("\n")}\n`;
  }
}
