import { afterEach, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import type { Executor, StepOutcome } from "../../src/delivery/dispatch/executor.js";
import { Lane, type LaneDeps } from "../../src/delivery/dispatch/lane.js";
import type { Permits } from "../../src/delivery/dispatch/permits.js";
import type { RecentRequests } from "../../src/delivery/dispatch/recent.js";
import type { RateLimiter } from "../../src/delivery/limits/index.js";
import type { Job, JobResult } from "../../src/delivery/model.js";
import { policiesFor } from "../../src/delivery/policies.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import { silentLogger } from "../../src/log.js";
import { openGates } from "./helpers/lane-gates.js";

/**
 * Review (rev15a): install steps beyond the lane's 256 wait in a FIFO, started as running steps
 * end, but not while the tenant is paused (the lane's loop gives them back then). A pause that
 * the loop did not see (it slept through it: a pause and a resume between two of its looks),
 * during which every running install step ended, left the FIFO with no step to start it: its rows
 * stayed claimed by a live process for ever (no lease runs out while the process beats).
 */
const stops: AbortController[] = [];
afterEach(() => {
  for (const s of stops.splice(0)) s.abort();
});

function deferred(): { promise: Promise<StepOutcome>; resolve: (o: StepOutcome) => void } {
  let resolve!: (o: StepOutcome) => void;
  const promise = new Promise<StepOutcome>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function until(what: string, ok: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

it("install steps waiting in the FIFO start after a pause the lane's loop slept through", async () => {
  const total = 300; // 256 run at once, 44 wait in the FIFO
  const jobs: Job[] = Array.from({ length: total }, (_, i) => ({
    notificationId: "n1",
    seq: i + 1,
    lease: 1,
    op: "send",
    kind: "user",
    tenantId: "t1",
    targetId: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
    attempts: 0,
  }));
  let claimed = false;
  const store = {
    claim: async () => {
      if (claimed) return [];
      claimed = true;
      return jobs;
    },
    nextDue: async () => undefined,
  } as unknown as DeliveryStore;
  const started: { job: Job; d: ReturnType<typeof deferred> }[] = [];
  const executor = {
    wantsInstall: () => true,
    runInstall: (job: Job) => {
      const d = deferred();
      started.push({ job, d });
      return d.promise;
    },
  } as unknown as Executor;
  const recorded: JobResult[] = [];
  let paused = false;
  const stop = new AbortController();
  stops.push(stop);
  const deps: LaneDeps = {
    owner: "w1",
    store,
    limiter: {} as RateLimiter,
    policies: policiesFor(0, 1),
    permits: {} as Permits,
    executor,
    recent: {} as RecentRequests,
    clock: systemClock,
    logger: silentLogger,
    claimBatch: total,
    // The loop looks again only when woken or after a minute: a short pause falls between two looks.
    pollMs: 60_000,
    markInflight: async () => true,
    record: (r) => recorded.push(r),
    isPaused: () => paused,
    ...openGates,
    signal: stop.signal,
  };
  const lane = new Lane("t1", deps);
  lane.start();
  lane.announce("n1");
  await until("256 install steps running", () => started.length === 256);
  expect(lane.load.buffered).toBe(total - 256);

  // The tenant pauses (a 403 from Teams) and every running step ends meanwhile (their welcomes
  // failed on the paused tenant); the loop sleeps through it and the pause ends (a user wrote).
  paused = true;
  for (const s of started.slice())
    s.d.resolve({ done: { notificationId: "n1", seq: s.job.seq, kind: "final", status: "failed", attempts: 1 } as JobResult });
  await until("the 256 results recorded", () => recorded.length === 256);
  paused = false;
  lane.wake(); // what Dispatcher.resume does

  // The 44 waiting steps start (none held for ever), each once.
  await until("the FIFO's install steps started", () => started.length === total);
  expect(new Set(started.map((s) => s.job.seq)).size).toBe(total);
  for (const s of started.slice(256))
    s.d.resolve({ done: { notificationId: "n1", seq: s.job.seq, kind: "final", status: "failed", attempts: 1 } as JobResult });
  await until("every row recorded", () => recorded.length === total);
  expect(lane.load.buffered).toBe(0);
  stop.abort();
  await lane.stopped();
});
