import { expect, it } from "vitest";
import { admin } from "../delivery/helpers/harness.js";
import { forEachStore } from "../helpers/stores.js";
import { TestClock, useProcess } from "./helpers.js";

/**
 * Runs claimed by a process that died are taken over after the lease, except a canceled series'
 * (canceled is for good). Those are never taken over, so they must not stay in the look for due
 * runs: with a page (100) of them, a live series' orphaned run would never be taken over.
 */
forEachStore((stores) => {
  const clock = new TestClock(Date.parse("2026-08-03T11:00:00Z"));

  const bed = useProcess(stores, clock, { users: 2, seeded: [0] });

  it("a live series' orphaned run is taken over even behind a page of canceled series' orphaned runs", async () => {
    const { store, h, p } = bed;
    const series = store.series;
    if (!series) throw new Error("the store has no series");
    const make = () =>
      p.series.create(
        {
          audience: { conversations: [h.emulator.org.personalConversationId(0)] },
          message: { text: "noon" },
          schedule: { cron: "0 12 * * *" },
        },
        admin,
      );
    clock.at = Date.parse("2026-08-03T11:00:00Z");
    const dead = await Promise.all(Array.from({ length: 100 }, make));
    const live = await make();
    clock.at = Date.parse("2026-08-03T12:00:05Z");
    const runAt = Date.parse("2026-08-03T12:00:00Z");
    const next = Date.parse("2026-08-04T12:00:00Z");
    // A process claims every run and dies; the 100 are then canceled, the live one is not.
    for (const s of dead) {
      expect(await series.claimRun(s.id, s.nextRunAt ?? "", runAt, next, "dead-process", clock.now())).toBe(true);
      await p.series.cancel(s.id, admin);
    }
    expect(await series.claimRun(live.id, live.nextRunAt ?? "", runAt, next, "dead-process", clock.now())).toBe(true);
    clock.at = Date.parse("2026-08-03T12:01:10Z"); // past the 60 s lease
    expect(await p.series.tick()).toBe(1);
    expect((await p.series.get(live.id))?.pendingRunAt).toBeUndefined();
    expect((await p.series.runs(live.id)).map((r) => r.runAt)).toEqual(["2026-08-03T12:00:00.000Z"]);
  });

  it("a series stored with a cron that fires more than once a minute (accepted before such crons were refused) ends without another run", async () => {
    const { store, h, p } = bed;
    const series = store.series;
    if (!series) throw new Error("the store has no series");
    clock.at = Date.parse("2026-08-05T11:00:00Z");
    const s = await p.series.create(
      { audience: { conversations: [h.emulator.org.personalConversationId(0)] }, message: { text: "x" }, schedule: { cron: "0 12 * * *" } },
      admin,
    );
    // As an older release stored it: every second.
    await series.update(s.id, { timing: { cron: "* * * * * *", timeZone: "UTC", localTime: false } }, ["active"], clock.now());
    clock.at = Date.parse("2026-08-05T12:00:05Z");
    await p.series.tick(); // (the first test's live series runs daily: its run may start here)
    expect(await p.series.get(s.id)).toMatchObject({ state: "ended", runs: 0 });
    expect((await p.series.get(s.id))?.nextRunAt).toBeUndefined();
    expect(await p.series.runs(s.id)).toEqual([]);
  });
});
