// The load generator: one undici Pool with `concurrency` keep-alive connections, one request
// in flight per connection, a fixed number of requests. Every target gets exactly this
// generator. It uses the Pool's `dispatch` with a minimal handler (no body stream per
// response), so that on a 2-core machine the generator costs as little CPU as it can and the
// server, not the client, is what gets measured.
import { Pool } from "undici";

function sender(pool, headers, body) {
  return (path) =>
    new Promise((resolve) => {
      let status = 0;
      pool.dispatch(
        { method: "POST", path, headers, body },
        {
          onRequestStart() {},
          onResponseStart(_controller, statusCode) {
            status = statusCode;
          },
          onResponseData() {},
          onResponseEnd() {
            resolve(status);
          },
          onResponseError(_controller, err) {
            resolve(err.code ?? "error");
          },
        },
      );
    });
}

/**
 * Send `total` POSTs (after `warmup` unmeasured ones) with `concurrency` in flight.
 * `pathOf(k)` gives the path of request k; every request carries the same JSON body.
 * Returns sends/s over the measured part, latency percentiles (ms) and the failures.
 * `onMeasure()` is called right before and after the measured part.
 */
export async function runLoad({ origin, pathOf, body, total, warmup, concurrency, onMeasure = () => undefined }) {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const send = sender(pool, ["content-type", "application/json"], body);
  const statuses = new Map();
  const latencies = new Float64Array(total);
  let failures = 0;

  async function phase(count, measured, offset) {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const k = next++;
        const t0 = performance.now();
        const status = await send(pathOf(offset + k));
        if (!measured) continue;
        latencies[k] = performance.now() - t0;
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (typeof status !== "number" || status >= 300) failures++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  }

  // Warm-up: open the connections and let both JITs settle; not measured.
  if (warmup > 0) await phase(warmup, false, total);
  const before = onMeasure();
  const start = performance.now();
  await phase(total, true, 0);
  const seconds = (performance.now() - start) / 1000;
  const after = onMeasure();
  await pool.close();
  const sorted = latencies.sort();
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  return {
    sendsPerSecond: total / seconds,
    seconds,
    p50: pct(50),
    p99: pct(99),
    failures,
    statuses: Object.fromEntries(statuses),
    /** What `onMeasure` returned before and after the measured part (e.g. server CPU seconds). */
    measured: [before, after],
  };
}
