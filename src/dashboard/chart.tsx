/** Outcome colours: each passes 3:1 against white (WCAG non-text contrast); the labels carry the meaning too. */
export const outcomeColours: Record<string, string> = {
  sent: "#0E700E",
  pending: "#616161",
  failed: "#C4314B",
  blocked: "#8A3707",
  notFound: "#6B3FA0",
  optedOut: "#005A9E",
  canceled: "#424242",
  unknown: "#835B00",
};

/** A horizontal bar chart of outcome counts, drawn as inline SVG (no chart library, nothing to fetch). */
export function OutcomeChart(props: { counts: Record<string, number>; title: string }) {
  const entries = Object.entries(props.counts);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const row = 28;
  const width = 480;
  const labelW = 90;
  const barW = width - labelW - 70;
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${width} ${entries.length * row + 8}`}
      role="img"
      aria-label={`${props.title}: ${entries.map(([k, n]) => `${k} ${n}`).join(", ")}`}
    >
      <title>{props.title}</title>
      {entries.map(([k, n], i) => (
        <g key={k} transform={`translate(0 ${i * row + 4})`}>
          <text x={labelW - 8} y={row / 2 + 4} text-anchor="end" class="chart-label">
            {k}
          </text>
          <rect
            x={labelW}
            y={4}
            height={row - 10}
            width={Math.max(n > 0 ? 2 : 0, (n / max) * barW)}
            fill={outcomeColours[k] ?? "#616161"}
          />
          <text x={labelW + (n / max) * barW + 6} y={row / 2 + 4} class="chart-value">
            {n}
          </text>
        </g>
      ))}
    </svg>
  );
}

/**
 * Deliveries over time: messages sent per time bucket (12 buckets from the first to the last
 * send), as inline SVG columns, from the deliveries' `sentAt`.
 */
export function TimelineChart(props: { sentAt: readonly string[]; title: string }) {
  const times = props.sentAt.map((s) => Date.parse(s)).filter((t) => Number.isFinite(t));
  if (times.length === 0) return null;
  const first = Math.min(...times);
  const last = Math.max(...times);
  const buckets = 12;
  const span = Math.max(1, last - first);
  const counts = new Array<number>(buckets).fill(0);
  for (const t of times) {
    const i = Math.min(buckets - 1, Math.floor(((t - first) / span) * buckets));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const max = Math.max(1, ...counts);
  const width = 480;
  const height = 140;
  const colW = width / buckets;
  const seconds = (span / 1000).toFixed(1);
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${width} ${height + 24}`}
      role="img"
      aria-label={`${props.title}: ${times.length} sent over ${seconds} s, per bucket ${counts.join(", ")}`}
    >
      <title>{props.title}</title>
      {counts.map((n, i) => (
        <rect key={i} x={i * colW + 2} y={height - (n / max) * height} width={colW - 4} height={(n / max) * height} fill="#4F52B2" />
      ))}
      <text x={0} y={height + 18} class="chart-label">
        {new Date(first).toLocaleTimeString()}
      </text>
      <text x={width} y={height + 18} text-anchor="end" class="chart-label">
        {new Date(last).toLocaleTimeString()} ({seconds} s)
      </text>
    </svg>
  );
}

/** One bar of a {@link BarChart}. */
export interface Bar {
  label: string;
  value: number;
  colour?: string;
}

/**
 * Labelled horizontal bars (poll options, survey answers, reactions) as inline SVG, with the
 * same numbers in a table under "Show as a table" for screen readers and copying. The SVG's
 * `aria-label` names every bar and its count; `total` adds each bar's share to the labels.
 */
export function BarChart(props: { bars: readonly Bar[]; title: string; total?: number; testId?: string }) {
  const max = Math.max(1, ...props.bars.map((b) => b.value));
  const row = 28;
  const width = 480;
  const labelW = 150;
  const barW = width - labelW - 90;
  const share = (n: number) => (props.total && props.total > 0 ? ` (${Math.round((n / props.total) * 100)}%)` : "");
  const short = (s: string) => (s.length > 22 ? `${s.slice(0, 21)}…` : s);
  return (
    <figure class="bar-chart" data-testid={props.testId}>
      <svg
        class="chart"
        viewBox={`0 0 ${width} ${Math.max(1, props.bars.length) * row + 8}`}
        role="img"
        aria-label={`${props.title}: ${props.bars.map((b) => `${b.label} ${b.value}${share(b.value)}`).join(", ")}`}
      >
        <title>{props.title}</title>
        {props.bars.map((b, i) => (
          <g key={`${i}-${b.label}`} transform={`translate(0 ${i * row + 4})`}>
            <text x={labelW - 8} y={row / 2 + 4} text-anchor="end" class="chart-label">
              {short(b.label)}
            </text>
            <rect
              x={labelW}
              y={4}
              height={row - 10}
              width={Math.max(b.value > 0 ? 2 : 0, (b.value / max) * barW)}
              fill={b.colour ?? "#4F52B2"}
            />
            <text x={labelW + (b.value / max) * barW + 6} y={row / 2 + 4} class="chart-value">
              {b.value}
              {share(b.value)}
            </text>
          </g>
        ))}
      </svg>
      <details>
        <summary>Show as a table</summary>
        <table>
          <caption>{props.title}</caption>
          <thead>
            <tr>
              <th scope="col">Answer</th>
              <th scope="col">Count</th>
            </tr>
          </thead>
          <tbody>
            {props.bars.map((b, i) => (
              <tr key={`${i}-${b.label}`}>
                <th scope="row">{b.label}</th>
                <td>
                  {b.value}
                  {share(b.value)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
