import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { admin, type Harness, pollUntil, startHarness } from "../delivery/helpers/harness.js";
import { createStoreFactory } from "../helpers/stores.js";
import { type Process, startProcess, TestClock } from "./helpers.js";

/**
 * Two Herald processes over one PostgreSQL, each with its own store handle (its own pool), look
 * for due runs at the same moments: every run of every series is started by exactly one of them
 * (the claim is a conditional update of the series' next run), and each run is one notification.
 */
describe("postgres: two processes share the series", () => {
  const stores = createStoreFactory("postgres");
  let h: Harness;
  let storeA: Store;
  let storeB: Store;
  const clock = new TestClock(Date.parse("2026-05-04T10:00:30Z"));
  const processes: Process[] = [];

  beforeAll(async () => {
    storeA = await stores.open();
    storeB = await stores.open();
    h = await startHarness(storeA, { emulator: { org: { users: 12 } }, start: false });
    await h.seedUsers(Array.from({ length: 12 }, (_, i) => i));
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await h.close();
    await stores.cleanup();
  });

  it("starts each run exactly once", async () => {
    // The simulated clock jumps a minute at a time: liveness is judged over ten minutes, so a
    // jump does not make one process take the other's rows as a dead worker's.
    const live = { config: { staleMs: 600_000 } };
    const a = await startProcess(h, storeA, clock, live);
    const b = await startProcess(h, storeB, clock, live);
    processes.push(a, b);
    const seriesCount = 12;
    const ids: string[] = [];
    for (let i = 0; i < seriesCount; i++) {
      const s = await a.series.create(
        {
          // One chat per series: Teams' per-conversation pace does not slow the check.
          audience: { conversations: [h.emulator.org.personalConversationId(i)] },
          message: { text: `series ${i}` },
          schedule: { cron: "* * * * *" },
        },
        admin,
      );
      ids.push(s.id);
    }
    const minutes = 5;
    const started = { a: 0, b: 0 };
    for (let m = 1; m <= minutes; m++) {
      clock.at = Date.parse("2026-05-04T10:00:00Z") + m * 60_000 + 5_000;
      // Both look at the same moment, twice, as their loops would (a process runs one look at a time).
      for (let round = 0; round < 2; round++) {
        const [ra, rb] = await Promise.all([a.series.tick(), b.series.tick()]);
        started.a += ra;
        started.b += rb;
      }
    }
    expect(started.a + started.b).toBe(seriesCount * minutes);
    // Both took part: the claim, not the timing, decided who started what.
    expect(started.a).toBeGreaterThan(0);
    expect(started.b).toBeGreaterThan(0);
    for (const id of ids) {
      const runs = await a.series.runs(id, undefined, 100);
      expect(runs.length).toBe(minutes);
      expect(new Set(runs.map((r) => r.runAt)).size).toBe(minutes);
    }
    for (let i = 0; i < seriesCount; i++)
      await pollUntil(
        () => h.received(i).received,
        (n) => n === minutes,
        `chat ${i} got every run once`,
      );
  });
});
