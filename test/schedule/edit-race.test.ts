import { expect, it } from "vitest";
import type { SeriesStore } from "../../src/delivery/schedule/series.js";
import { createSeriesService } from "../../src/delivery/schedule/series-service.js";
import { admin, emulatorControl, pollUntil } from "../delivery/helpers/harness.js";
import { forEachStore } from "../helpers/stores.js";
import { TestClock, useProcess } from "./helpers.js";

/**
 * An edit that lands after the loop has read the due series but before it claims the run (the
 * loop starts up to 100 due runs one after another, each resolving its audience, so this window is
 * not only milliseconds): the edit was accepted first, so the run it precedes sends the edited
 * message, not the one read before it.
 */
forEachStore((stores) => {
  const clock = new TestClock(Date.parse("2026-10-05T08:00:00Z"));

  const bed = useProcess(stores, clock, { users: 1, seeded: [0] });

  it("a run claimed after an accepted edit sends the edited message", async () => {
    const { store, h, p } = bed;
    const real = store.series as SeriesStore;
    let editFirst: (() => Promise<unknown>) | undefined;
    // The store as the loop sees it: the edit is accepted just before the claim.
    const racing: SeriesStore = Object.assign(Object.create(real) as SeriesStore, {
      claimRun: async (...args: Parameters<SeriesStore["claimRun"]>) => {
        const edit = editFirst;
        editFirst = undefined;
        if (edit) await edit();
        return real.claimRun(...args);
      },
    });
    const loop = createSeriesService({ store: racing, engine: p.engine, clock, owner: "racing-process" });
    const conv = h.emulator.org.personalConversationId(0);
    const s = await p.series.create(
      { audience: { conversations: [conv] }, message: { text: "old text" }, schedule: { cron: "0 9 * * *" } },
      admin,
    );
    editFirst = () => p.series.edit(s.id, { message: { text: "edited text" } }, admin);
    clock.at = Date.parse("2026-10-05T09:00:05Z");
    expect(await loop.tick()).toBe(1);
    expect(editFirst).toBeUndefined();
    await pollUntil(
      () => h.received(0).received,
      (n) => n === 1,
      "the run delivered",
    );
    const body = (await emulatorControl(h, "GET", `conversations/${encodeURIComponent(conv)}/messages`)) as {
      messages: { activity: { text?: string } | null }[];
    };
    expect(body.messages.at(-1)?.activity?.text).toBe("edited text");
  });
});
