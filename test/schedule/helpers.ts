import type { Clock } from "../../src/clock.js";
import type { DeliveryConfig } from "../../src/delivery/config.js";
import { createDeliveryEngine, type DeliveryEngine } from "../../src/delivery/engine.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import { createSeriesService, type SeriesService } from "../../src/delivery/schedule/series-service.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";
import { type Harness, testDeliveryConfig } from "../delivery/helpers/harness.js";

/**
 * A clock the test moves: `at = t` jumps to `t`, from where time runs on at the real pace (so the
 * rate limiter's waits end, as they would). Sleeps are real but short: the engine polls.
 */
export class TestClock implements Clock {
  private base: number;
  private setAt = Date.now();
  constructor(at: number) {
    this.base = at;
  }
  get at(): number {
    return this.now();
  }
  set at(t: number) {
    this.base = t;
    this.setAt = Date.now();
  }
  now(): number {
    return this.base + (Date.now() - this.setAt);
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(resolve, Math.min(ms, 50));
      signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
}

/** One Herald process as far as schedules go: a delivery engine and a series service over `store`, on `clock`. */
export interface Process {
  engine: DeliveryEngine;
  series: SeriesService;
  stop(): Promise<void>;
}

/** Start a process over the harness's emulator and `store` (a restart is a new process over the same store). */
export async function startProcess(
  h: Harness,
  store: Store,
  clock: Clock,
  options: { loop?: boolean; config?: Partial<DeliveryConfig> } = {},
): Promise<Process> {
  const engine = createDeliveryEngine({
    store,
    connector: h.connector,
    limiter: new InProcessRateLimiter({ marginMs: 150 }),
    clock,
    storeTime: "clock",
    // As herald.ts wires it: the tenant's default zone (PUT /v1/tenants/{id}) for recipients without their own.
    tenantTimeZone: async (tenantId) => (await store.preferences.tenantSettings(tenantId))?.timeZone,
    logger: silentLogger,
    config: { ...testDeliveryConfig, appId: h.emulator.appId, ...options.config },
  });
  await engine.start();
  if (!store.series) throw new Error("the store has no series");
  const series = createSeriesService({ store: store.series, engine, clock, owner: engine.workerId, pollMs: 20 });
  if (options.loop) series.start();
  return {
    engine,
    series,
    async stop() {
      await series.stop();
      await engine.stop();
    },
  };
}
