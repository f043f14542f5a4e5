import { type Clock, systemClock } from "../../../src/clock.js";
import type { Executor, RunOutcome } from "../../../src/delivery/dispatch/executor.js";
import { Lane, type LaneDeps } from "../../../src/delivery/dispatch/lane.js";
import type { Permits } from "../../../src/delivery/dispatch/permits.js";
import type { RecentRequests } from "../../../src/delivery/dispatch/recent.js";
import { InProcessRateLimiter } from "../../../src/delivery/limits/memory.js";
import type { RateLimiter } from "../../../src/delivery/limits/rate-limiter.js";
import type { DeliveryKey, Job, JobResult } from "../../../src/delivery/model.js";
import type { Policies } from "../../../src/delivery/policies.js";
import type { DeliveryStore } from "../../../src/delivery/store/port.js";
import { silentLogger } from "../../../src/log.js";
import { openGates } from "./lane-gates.js";

/**
 * One Lane over an in-memory queue of rows (`rows`, by notification id) whose executor answers
 * every send "sent" at once: what it marked, launched (and when, on its clock) and recorded.
 * Lanes started here stop with stopLanes() (call it in afterEach).
 */
const stops: AbortController[] = [];

/** Stop every lane rig() started. */
export function stopLanes(): void {
  for (const s of stops.splice(0)) s.abort();
}

export async function until(what: string, ok: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Lets every continuation queued so far run (no timer: a turn of the event loop). */
export const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

export function sends(tenantId: string, notificationId: string, n: number, from = 1): Job[] {
  return Array.from({ length: n }, (_, i) => ({
    notificationId,
    seq: from + i,
    op: "send",
    kind: "user",
    tenantId,
    conversationId: `a:${tenantId}-${notificationId}-${from + i}`,
    attempts: 0,
  }));
}

export interface Rig {
  lane: Lane;
  marks: DeliveryKey[];
  launched: Job[];
  /** The clock's time at each launch, in launch order. */
  launchedAt: number[];
  recorded: JobResult[];
  stop: AbortController;
  rows: Map<string, Job[]>;
}

export function rig(
  tenantId: string,
  o: {
    policies: Policies;
    permits: Permits;
    clock?: Clock;
    limiter?: RateLimiter;
    stop?: AbortController;
    marks?: DeliveryKey[];
    launched?: Job[];
    onClaim?: () => void;
  },
): Rig {
  const rows = new Map<string, Job[]>();
  const store = {
    claim: async (_owner: string, id: string, _t: string, _now: number, n: number) => {
      o.onClaim?.();
      return (rows.get(id) ?? []).splice(0, n);
    },
    nextDue: async () => undefined,
  } as unknown as DeliveryStore;
  const marks = o.marks ?? [];
  const launched = o.launched ?? [];
  const recorded: JobResult[] = [];
  const launchedAt: number[] = [];
  const clock = o.clock ?? systemClock;
  const executor = {
    wantsInstall: () => false,
    run: async (job: Job): Promise<RunOutcome> => {
      launched.push(job);
      launchedAt.push(clock.now());
      return {
        done: { notificationId: job.notificationId, seq: job.seq, kind: "sent", attempts: 1, activityId: "x", version: 1 } as JobResult,
        requested: true,
      };
    },
  } as unknown as Executor;
  const stop = o.stop ?? new AbortController();
  stops.push(stop);
  const deps: LaneDeps = {
    owner: "w1",
    store,
    limiter: o.limiter ?? new InProcessRateLimiter(),
    policies: o.policies,
    permits: o.permits,
    executor,
    recent: { record: () => undefined } as unknown as RecentRequests,
    clock,
    logger: silentLogger,
    claimBatch: 100,
    pollMs: 60_000,
    markInflight: async (key) => {
      marks.push(key);
      return true;
    },
    record: (r) => recorded.push(r),
    isPaused: () => false,
    ...openGates,
    signal: stop.signal,
  };
  const lane = new Lane(tenantId, deps);
  lane.start();
  return { lane, marks, launched, launchedAt, recorded, stop, rows };
}
