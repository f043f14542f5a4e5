// Child process: a Herald server as `herald serve` builds it (dist/server/herald.js: store,
// Connector client, rate limiter, delivery engine, HTTP API), configured by HERALD_* variables,
// plus BENCH_DELIVERY (JSON of delivery engine settings, e.g. the emulator's time scale).
// Prints `READY <url>` and runs until SIGTERM. Hosted in a worker thread with a larger V8 young
// generation as `herald serve` is (dist/cli/young-generation.js; HERALD_YOUNG_GENERATION_MB=0: not).
import { isMainThread } from "node:worker_threads";
import { hostInWorker, receiveForwardedSignals, youngGenerationFor } from "../../dist/cli/young-generation.js";

const youngMb = isMainThread ? youngGenerationFor(["serve"], process.env, process.execArgv) : undefined;
if (youngMb !== undefined) hostInWorker(new URL(import.meta.url), [], youngMb);
else {
  receiveForwardedSignals();
  await run();
}

async function run() {
  const { loadConfig } = await import("../../dist/config/config.js");
  const { createLogger } = await import("../../dist/log.js");
  const { keepHeapSmall } = await import("../../dist/server/heap.js");
  const { createHerald } = await import("../../dist/server/herald.js");
  const config = loadConfig(process.env);
  keepHeapSmall(); // as `herald serve` does
  const logger = createLogger(config.logLevel);
  const delivery = JSON.parse(process.env.BENCH_DELIVERY ?? "{}");
  const herald = await createHerald(config, { logger, delivery });
  const listener = await herald.listen();
  process.stdout.write(`READY ${listener.url}\n`);
  // BENCH_MEMLOG: every 2 s, memory, event-loop delay (ms, 5 ms resolution) and the engine's counters.
  if (process.env.BENCH_MEMLOG) {
    const { monitorEventLoopDelay } = await import("node:perf_hooks");
    const eld = monitorEventLoopDelay({ resolution: 5 });
    eld.enable();
    setInterval(() => {
      process.stderr.write(
        `mem eld p50 ${(eld.percentile(50) / 1e6).toFixed(1)} p99 ${(eld.percentile(99) / 1e6).toFixed(1)} max ${(eld.max / 1e6).toFixed(1)} ms\n`,
      );
      eld.reset();
      const m = process.memoryUsage();
      const mb = (n) => Math.round(n / 1048576);
      process.stderr.write(
        `mem rss ${mb(m.rss)} heapUsed ${mb(m.heapUsed)} heapTotal ${mb(m.heapTotal)} external ${mb(m.external)} arrayBuffers ${mb(m.arrayBuffers)} ${JSON.stringify(herald.engine.stats())}\n`,
      );
    }, 2000).unref();
  }
  const stop = () => {
    herald.close().then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
