// The load generator: one undici Pool with keep-alive connections, `concurrency` requests in
// flight, a fixed number of requests. Every target gets exactly this generator.
import { Pool } from "undici";

/**
 * Send `total` POSTs (after `warmup` unmeasured ones) with `concurrency` in flight.
 * `pathOf(k)` gives the path of request k; every request carries the same JSON body.
 * Returns sends/s over the measured part, latency percentiles (ms) and the failures.
 */
export async function runLoad({ origin, pathOf, body, total, warmup, concurrency, headers = {} }) {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const allHeaders = { "content-type": "application/json", ...headers };
  const statuses = new Map();
  const latencies = new Float64Array(total);
  let failures = 0;

  async function fire(k, measured) {
    const t0 = measured ? performance.now() : 0;
    try {
      const res = await pool.request({ method: "POST", path: pathOf(k), headers: allHeaders, body });
      await res.body.dump();
      if (measured) {
        latencies[k] = performance.now() - t0;
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        if (res.statusCode >= 300) failures++;
      }
    } catch (err) {
      if (measured) {
        failures++;
        statuses.set(err.code ?? "error", (statuses.get(err.code ?? "error") ?? 0) + 1);
      }
    }
  }

  async function phase(count, measured, offset) {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const k = next++;
        await fire(offset + k, measured);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  }

  // Warm-up: open the connections and let both JITs settle; not measured. Its paths come
  // after the measured ones so a broadcast's first measured sends are still first sends.
  if (warmup > 0) await phase(warmup, false, total);
  const start = performance.now();
  await phase(total, true, 0);
  const seconds = (performance.now() - start) / 1000;
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
  };
}
