import { Hono } from "hono";
import { afterAll, beforeAll } from "vitest";
import { type ApiEnv, adminKeyVerifier } from "../../src/api/auth.js";
import { notificationRoutes } from "../../src/api/notifications.js";
import { seriesRoutes } from "../../src/api/series.js";
import type { Clock } from "../../src/clock.js";
import type { DeliveryConfig } from "../../src/delivery/config.js";
import { createDeliveryEngine, type DeliveryEngine } from "../../src/delivery/engine.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import { createSeriesService, type SeriesService } from "../../src/delivery/schedule/series-service.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";
import { type Harness, startHarness, testDeliveryConfig } from "../delivery/helpers/harness.js";
import type { StoreFactory } from "../helpers/stores.js";

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

/** What useProcess sets up; its fields are there once the file's (or suite's) beforeAll ran. */
export interface ProcessBed {
  store: Store;
  h: Harness;
  p: Process;
}

/**
 * Register beforeAll/afterAll that open a store from `stores`, start a harness whose emulator's
 * organisation has `users` users (its own engine not started), store the 1:1 chats of the users
 * `seeded` (default none) and start one Process on `clock`; after the tests, stop them and clean
 * the store up.
 */
export function useProcess(stores: StoreFactory, clock: Clock, options: { users: number; seeded?: number[] }): ProcessBed {
  const bed = {} as ProcessBed;
  beforeAll(async () => {
    bed.store = await stores.open();
    bed.h = await startHarness(bed.store, { emulator: { org: { users: options.users } }, start: false });
    if (options.seeded) await bed.h.seedUsers(options.seeded);
    bed.p = await startProcess(bed.h, bed.store, clock);
  });
  afterAll(async () => {
    await bed.p.stop();
    await bed.h.close();
    await stores.cleanup();
  });
  return bed;
}

/** The notification and series routes over `p`, in process, for the admin key `adminKey`. */
export function scheduleApi(p: Process, adminKey: string): Hono<ApiEnv> {
  const keys = adminKeyVerifier(adminKey);
  const app = new Hono<ApiEnv>();
  app.route("/", notificationRoutes(p.engine, keys, {}, p.series));
  app.route("/", seriesRoutes(p.series, keys));
  return app;
}
