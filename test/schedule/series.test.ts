import { afterAll, beforeAll, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { admin, type Harness, pollUntil, startHarness } from "../delivery/helpers/harness.js";
import { forEachStore } from "../helpers/stores.js";
import { type Process, startProcess, TestClock } from "./helpers.js";

/**
 * A daily series over a simulated week (injected clock), on SQLite and PostgreSQL, with a restart
 * in the middle: the process stops on Thursday morning and a new one over the same store starts on
 * Friday afternoon. Every run is started exactly once; of the two runs missed while down
 * (Thursday's and Friday's) only the latest, Friday's, is sent, once. The week crosses Europe's
 * daylight-saving change (Sunday 29 March 2026): the runs stay at 09:00 Paris time.
 */
forEachStore((stores) => {
  let store: Store;
  let h: Harness;
  const clock = new TestClock(Date.parse("2026-03-23T00:00:00Z")); // Monday
  const wallParis = (iso: string) =>
    new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Paris",
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }).format(new Date(iso));

  beforeAll(async () => {
    store = await stores.open();
    h = await startHarness(store, { emulator: { org: { users: 4 } }, start: false });
    await h.seedUsers([0, 1, 2]);
  });
  afterAll(async () => {
    await h.close();
    await stores.cleanup();
  });

  it("runs once a day at 09:00 Paris; after downtime only the latest missed run is sent, once", async () => {
    let p: Process = await startProcess(h, store, clock);
    const s = await p.series.create(
      {
        audience: { conversations: [h.emulator.org.personalConversationId(0), h.emulator.org.personalConversationId(1)] },
        message: { text: "Daily digest for ${givenName}" },
        schedule: { cron: "0 9 * * *", timeZone: "Europe/Paris" },
      },
      admin,
    );
    expect(s.nextRunAt).toBe("2026-03-23T08:00:00.000Z");
    const at = (iso: string) => {
      clock.at = Date.parse(iso);
    };
    const sentOf = async (runs: number) =>
      pollUntil(
        async () => (await p.series.runs(s.id)).filter((r) => r.status === "completed" && r.sent === 2).length,
        (n) => n === runs,
        `${runs} runs completed`,
      );

    // Monday to Wednesday: each run once, however often the loop looks.
    const days = ["2026-03-23", "2026-03-24", "2026-03-25"];
    for (const [k, day] of days.entries()) {
      at(`${day}T07:59:00Z`);
      expect(await p.series.tick()).toBe(0);
      at(`${day}T08:00:30Z`);
      expect(await p.series.tick()).toBe(1);
      expect(await p.series.tick()).toBe(0);
      at(`${day}T15:00:00Z`);
      expect(await p.series.tick()).toBe(0);
      await sentOf(k + 1);
    }

    // Down from Thursday 06:00 to Friday 14:00: Thursday's and Friday's runs are missed.
    at("2026-03-26T06:00:00Z");
    await p.stop();
    at("2026-03-27T14:00:00Z");
    p = await startProcess(h, store, clock);
    expect(await p.series.tick()).toBe(1);
    expect(await p.series.tick()).toBe(0);
    await sentOf(4);
    const afterRestart = await p.series.runs(s.id);
    expect(afterRestart[0]?.runAt).toBe("2026-03-27T08:00:00.000Z");
    expect(afterRestart.map((r) => r.runAt)).not.toContain("2026-03-26T08:00:00.000Z");

    // Saturday 09:00 CET is 08:00Z; Sunday 09:00 CEST (clocks went forward) is 07:00Z.
    for (const [iso, runs] of [
      ["2026-03-28T08:00:10Z", 5],
      ["2026-03-29T07:00:10Z", 6],
    ] as const) {
      at(iso);
      expect(await p.series.tick()).toBe(1);
      await sentOf(runs);
    }
    const runs = await p.series.runs(s.id);
    expect(runs.map((r) => r.runAt).sort()).toEqual([
      "2026-03-23T08:00:00.000Z",
      "2026-03-24T08:00:00.000Z",
      "2026-03-25T08:00:00.000Z",
      "2026-03-27T08:00:00.000Z",
      "2026-03-28T08:00:00.000Z",
      "2026-03-29T07:00:00.000Z",
    ]);
    for (const r of runs) expect(wallParis(r.runAt)).toMatch(/ 09:00$/);
    expect(h.received(0).received).toBe(6);
    expect(h.received(1).received).toBe(6);
    const after = await p.series.get(s.id);
    expect(after?.runs).toBe(6);
    expect(after?.nextRunAt).toBe("2026-03-30T07:00:00.000Z");
    const child = await p.engine.get(runs[0]?.notificationId ?? "");
    expect(child?.seriesId).toBe(s.id);
    expect(child?.seriesRunAt).toBe("2026-03-29T07:00:00.000Z");
    expect((await p.series.cancel(s.id, admin)).state).toBe("canceled");
    await p.stop();
  });

  it("a run claimed by a process that died before writing it is taken over once, after the lease", async () => {
    const p = await startProcess(h, store, clock);
    clock.at = Date.parse("2026-04-01T11:00:00Z");
    const s = await p.series.create(
      {
        audience: { conversations: [h.emulator.org.personalConversationId(2)] },
        message: { text: "noon" },
        schedule: { cron: "0 12 * * *" },
      },
      admin,
    );
    expect(s.nextRunAt).toBe("2026-04-01T12:00:00.000Z");
    clock.at = Date.parse("2026-04-01T12:00:05Z");
    const runAt = Date.parse("2026-04-01T12:00:00Z");
    // Another process claims the run and dies before writing its notification.
    expect(
      await store.series?.claimRun(s.id, s.nextRunAt ?? "", runAt, Date.parse("2026-04-02T12:00:00Z"), "dead-process", clock.now()),
    ).toBe(true);
    expect(await p.series.tick()).toBe(0); // its lease (60 s) still holds
    clock.at = Date.parse("2026-04-01T12:01:10Z");
    expect(await p.series.tick()).toBe(1);
    expect(await p.series.tick()).toBe(0);
    const runs = await p.series.runs(s.id);
    expect(runs.map((r) => r.runAt)).toEqual(["2026-04-01T12:00:00.000Z"]);
    expect((await p.series.get(s.id))?.pendingRunAt).toBeUndefined();
    await pollUntil(
      () => h.received(2).received,
      (n) => n === 1,
      "the taken-over run delivered",
    );
    await p.stop();
  });
});
