import { monitorEventLoopDelay } from "node:perf_hooks";
import { expect, it } from "vitest";
import { createStoreFactory } from "../helpers/stores.js";
import { admin, finished, request, startHarness } from "./helpers/harness.js";

it("debug 3 tenants", async () => {
  const f = createStoreFactory("sqlite");
  const log: string[] = [];
  const t0 = Date.now();
  const h = await startHarness(await f.open(), { emulator: { tenantRps: 50, org: { tenants: 3, users: 180 } }, config: { tenantRps: 50 } });
  void log;
  const ctx = h.emulator.context;
  const origAdmit = ctx.limits.admit.bind(ctx.limits);
  const times: number[][] = [[], [], []];
  ctx.limits.admit = (tenant, key, cls, now) => { const r = origAdmit(tenant, key, cls, now); times[tenant]!.push(now); if (r) log.push(`${now - t0} 429 ${r.scope} tenant ${tenant} n=${times[tenant]!.length}`); return r; };
  await h.seedUsers(Array.from({ length: 180 }, (_, i) => i));
  const mon = monitorEventLoopDelay({ resolution: 1 }); mon.enable();
  const { notification } = await h.engine.submit(request({ all: true }), admin);
  await h.waitFor(notification.id, finished, 20_000);
  console.log(log.join("\n"), "p99", mon.percentile(99) / 1e6, "max", mon.max / 1e6);
  for (const [t, ts] of times.entries()) {
    // smallest span of 51 consecutive
    let min = Infinity, at = 0;
    for (let i = 50; i < ts.length; i++) { const d = ts[i]! - ts[i - 50]!; if (d < min) { min = d; at = i; } }
    const gaps = ts.slice(Math.max(0, at - 50), at + 1).map((x, i, a) => (i ? x - a[i - 1]! : 0));
    console.log("tenant", t, "n", ts.length, "min span of 51", min, "at", at, "gaps", gaps.join(","));
  }
  expect(1).toBe(1);
  await h.close();
  await f.cleanup();
});
