import { describe, expect, it } from "vitest";
import { type Clock, systemClock } from "../../src/clock.js";
import { createSeriesService } from "../../src/delivery/schedule/series-service.js";
import { admin } from "../delivery/helpers/harness.js";
import { createStoreFactory } from "../helpers/stores.js";
import { useProcess } from "./helpers.js";

/**
 * Processes on several machines share PostgreSQL; one machine's clock runs ahead. The series loop
 * judges "due" on the database's clock, as the delivery engine does (StoreClock), so the skewed
 * process does not start a run before its time. Real time here: the database's clock is the
 * machine's.
 */
describe("postgres: a process whose clock runs ahead", () => {
  const stores = createStoreFactory("postgres");

  const bed = useProcess(stores, systemClock, { users: 1, seeded: [0] });

  it("does not start a run before the database's clock reaches it", async () => {
    const { store, h, p } = bed;
    // A run a minute or two from now (real time), whatever the second.
    const minute = (new Date().getUTCMinutes() + 2) % 60;
    const s = await p.series.create(
      {
        audience: { conversations: [h.emulator.org.personalConversationId(0)] },
        message: { text: "x" },
        schedule: { cron: `${minute} * * * *` },
      },
      admin,
    );
    const runAt = Date.parse(s.nextRunAt ?? "");
    expect(runAt - Date.now()).toBeGreaterThan(55_000);
    // This machine's clock is 10 s past the run already; the database's is a minute or more before it.
    const skew = runAt - Date.now() + 10_000;
    const ahead: Clock = { now: () => Date.now() + skew, sleep: systemClock.sleep };
    const series = store.series;
    if (!series) throw new Error("the store has no series");
    const skewed = createSeriesService({
      store: series,
      engine: p.engine,
      clock: ahead,
      owner: "skewed-process",
      storeNow: () => store.deliveries.databaseNow(),
    });
    expect(await skewed.tick()).toBe(0);
    expect((await p.series.get(s.id))?.runs).toBe(0);
    await p.series.cancel(s.id, admin);
  });
});
