import { afterEach, describe, expect, it } from "vitest";
import type { Clock } from "../../src/clock.js";
import { onWakeGrid, WAKE_GRID_MS } from "../../src/delivery/dispatch/lane.js";
import { Permits } from "../../src/delivery/dispatch/permits.js";
import { defaultGcraOptions } from "../../src/delivery/limits/policy.js";
import type { Job } from "../../src/delivery/model.js";
import { policiesFor } from "../../src/delivery/policies.js";
import { type Rig, rig, sends, settle, stopLanes } from "./helpers/lane-rig.js";

afterEach(stopLanes);

/** A clock that moves only when told: each step goes to the earliest pending sleep and ends it. */
class VirtualClock implements Clock {
  private waits: { at: number; resolve: () => void }[] = [];
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const wait = { at: this.t + Math.max(0, ms), resolve };
      this.waits.push(wait);
      signal?.addEventListener(
        "abort",
        () => {
          this.waits = this.waits.filter((w) => w !== wait);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
  /** Run every sleep that ends by `end`, in time order, letting the lanes work between them. */
  async runUntil(end: number): Promise<void> {
    for (;;) {
      await settle();
      const next = Math.min(...this.waits.map((w) => w.at));
      if (!(next <= end)) break;
      this.t = Math.max(this.t, next);
      const due = this.waits.filter((w) => w.at <= this.t);
      this.waits = this.waits.filter((w) => w.at > this.t);
      for (const w of due) w.resolve();
    }
    this.t = Math.max(this.t, end);
  }
}

describe("lanes wake on a shared grid for their tenants' slots", () => {
  it("onWakeGrid rounds up to the grid, and the grid is finer than the limiter's catch-up", () => {
    expect([onWakeGrid(1_000), onWakeGrid(1_000.2), onWakeGrid(1_004), onWakeGrid(1_005)]).toEqual([1_000, 1_005, 1_005, 1_005]);
    // Rounding a wait up by less than the catch-up costs no rate (see WAKE_GRID_MS).
    expect(WAKE_GRID_MS).toBeLessThan(defaultGcraOptions.catchUpMs);
  });

  it("three tenants at the ceiling, started a few ms apart, send on shared instants at the full rate", async () => {
    // Each tenant's slots come every 20.8 ms (50 per 1,040 ms). Lanes that start a few ms apart
    // (one broadcast's tenants, announced as its rows are written) would each wake the process on
    // instants of their own; on the 5 ms grid they mostly share (phases further apart than a
    // grid step share only when their slots drift into one step).
    const t0 = 1_000_003;
    const clock = new VirtualClock(t0);
    const policies = policiesFor(50, 1);
    const permits = new Permits(64);
    const perTenant = 60;
    const rigs: Rig[] = [];
    for (const [i, tenant] of ["t1", "t2", "t3"].entries()) {
      if (i > 0) await clock.runUntil(t0 + (i === 1 ? 1 : 3));
      const r = rig(tenant, { policies, permits, clock });
      r.rows.set(`n-${tenant}`, sends(tenant, `n-${tenant}`, perTenant));
      r.lane.announce(`n-${tenant}`);
      rigs.push(r);
    }
    await clock.runUntil(t0 + 3_000);
    const all: { job: Job; at: number }[] = rigs.flatMap((r) => r.launched.map((job, k) => ({ job, at: r.launchedAt[k] ?? -1 })));
    expect(all).toHaveLength(3 * perTenant);
    expect(new Set(all.map((x) => `${x.job.tenantId}/${x.job.seq}`)).size).toBe(3 * perTenant);

    // Every send that waited for its tenant's slot (all but each tenant's first) left on the grid.
    const waited = rigs.flatMap((r) => r.launchedAt.slice(1));
    expect(waited.filter((at) => at % WAKE_GRID_MS !== 0)).toEqual([]);
    // Shared instants: without the grid each of these sends had an instant of its own.
    expect(new Set(waited).size).toBeLessThan(0.75 * waited.length);
    // No rate lost: each tenant's sends span what its policy allows (59 intervals of 20.8 ms, the
    // first ones early by the catch-up), not a grid step more per send.
    for (const r of rigs) {
      const span = (r.launchedAt.at(-1) ?? 0) - (r.launchedAt[0] ?? 0);
      expect(span).toBeLessThanOrEqual((perTenant - 1) * 20.8 + WAKE_GRID_MS);
    }
  });

  it("with ticks (HERALD_TENANT_TICK 10), the lanes' ticks open on the grid too, at the full rate", async () => {
    const t0 = 2_000_001;
    const clock = new VirtualClock(t0);
    const policies = policiesFor(50, 1, 10);
    const permits = new Permits(64);
    const perTenant = 50;
    const rigs: Rig[] = [];
    for (const tenant of ["t1", "t2", "t3"]) {
      await clock.runUntil(clock.now() + 1);
      const r = rig(tenant, { policies, permits, clock });
      r.rows.set(`n-${tenant}`, sends(tenant, `n-${tenant}`, perTenant));
      r.lane.announce(`n-${tenant}`);
      rigs.push(r);
    }
    await clock.runUntil(t0 + 3_000);
    for (const r of rigs) {
      expect(r.launched).toHaveLength(perTenant);
      // Ticks of 10 after the first: each on the grid, all of a tick at one instant.
      const later = r.launchedAt.slice(10);
      expect(later.filter((at) => at % WAKE_GRID_MS !== 0)).toEqual([]);
      expect(new Set(later).size).toBe((perTenant - 10) / 10);
      // Five ticks per window: the fifth tick after the first within one tick spacing (209 ms
      // with the 5 ms opening) plus the grid of each.
      const span = (r.launchedAt.at(-1) ?? 0) - (r.launchedAt[0] ?? 0);
      expect(span).toBeLessThanOrEqual(4 * 209 + WAKE_GRID_MS);
    }
  });
});
