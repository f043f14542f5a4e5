import { expect, it } from "vitest";
import { admin } from "../delivery/helpers/harness.js";
import { createStoreFactory } from "../helpers/stores.js";
import { TestClock, useProcess } from "./helpers.js";

/**
 * A series whose `until` leaves it no run (already past, or before the cron's next occurrence) is
 * a mistake in the request: refused naming `schedule.until`, not accepted as a series born ended
 * that never sends anything.
 */
const stores = createStoreFactory("sqlite");
const clock = new TestClock(Date.parse("2026-09-01T10:00:00Z"));

const bed = useProcess(stores, clock, { users: 1 });

const request = (schedule: { cron: string; until?: string }) => ({
  audience: { conversations: [bed.h.emulator.org.personalConversationId(0)] },
  message: { text: "x" },
  schedule,
});
const refusal = (e: unknown) => {
  const err = e as { code?: string; status?: number; message?: string };
  return { code: err.code, status: err.status, message: err.message };
};

it("refuses an until already past, or before the next run, naming schedule.until", async () => {
  const { p } = bed;
  for (const until of ["2020-01-01T00:00:00Z", "2026-09-01T23:00:00Z"]) {
    const r = await p.series.create(request({ cron: "0 9 * * *", until }), admin).then(() => "accepted", refusal);
    expect(r).toMatchObject({ status: 400, message: expect.stringMatching(/^schedule\.until: /) });
  }
  // An edit that would leave no run is refused the same way; the series stays as it was.
  const s = await p.series.create(request({ cron: "0 9 * * *" }), admin);
  const r = await p.series
    .edit(s.id, { schedule: { cron: "0 9 * * *", until: "2026-09-01T11:00:00Z" } }, admin)
    .then(() => "accepted", refusal);
  expect(r).toMatchObject({ status: 400, message: expect.stringMatching(/^schedule\.until: /) });
  expect(await p.series.get(s.id)).toMatchObject({ state: "active", nextRunAt: "2026-09-02T09:00:00.000Z" });
  // A run at exactly `until` is still a run.
  const last = await p.series.create(request({ cron: "0 9 * * *", until: "2026-09-02T09:00:00Z" }), admin);
  expect(last).toMatchObject({ state: "active", nextRunAt: "2026-09-02T09:00:00.000Z" });
});
