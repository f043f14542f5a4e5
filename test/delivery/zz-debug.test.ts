import { monitorEventLoopDelay } from "node:perf_hooks";
import Database from "better-sqlite3";
import { expect, it } from "vitest";
import { createStoreFactory } from "../helpers/stores.js";
import { admin, finished, request, startHarness } from "./helpers/harness.js";

it("debug timing", async () => {
  const slow: string[] = [];
  const origPrepare = Database.prototype.prepare;
  Database.prototype.prepare = function (this: Database.Database, src: string) {
    const stmt = origPrepare.call(this, src) as unknown as Record<string, (...a: unknown[]) => unknown>;
    for (const m of ["run", "all", "get"]) {
      const f = stmt[m]!;
      stmt[m] = (...a: unknown[]) => {
        const t = performance.now();
        try { return f.apply(stmt, a); } finally { const d = performance.now() - t; if (d > 4) slow.push(`${d.toFixed(1)}ms ${src.slice(0, 60)}`); }
      };
    }
    return stmt as unknown as Database.Statement;
  } as typeof origPrepare;
  const f = createStoreFactory("sqlite");
  const store = await f.open();
  const h = await startHarness(store, { emulator: { org: { tenants: 2, users: 300, teams: 4 } }, config: { tenantRps: 50 } });
  await h.seedUsers(Array.from({ length: 200 }, (_, i) => i));
  const mon = monitorEventLoopDelay({ resolution: 1 }); mon.enable();
  const t0 = Date.now();
  const { notification } = await h.engine.submit(request({ all: true }, { text: "x" }), admin);
  const done = await h.waitFor(notification.id, finished);
  console.log("done", "p99", mon.percentile(99)/1e6, "max", mon.max/1e6, Date.now() - t0, "violations", h.stats()["violations"], "throttled", h.stats()["throttled"]);
  console.log("slow", slow.join("\n"));
  expect(done.counts.sent).toBe(200);
  await h.close();
  await f.cleanup();
});
