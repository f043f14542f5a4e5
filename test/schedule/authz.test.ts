import { afterAll, beforeAll, expect, it } from "vitest";
import type { Caller } from "../../src/delivery/engine.js";
import type { Store } from "../../src/store/ports.js";
import { admin, type Harness, pollUntil, startHarness } from "../delivery/helpers/harness.js";
import { forEachStore } from "../helpers/stores.js";
import { type Process, startProcess, TestClock } from "./helpers.js";

/**
 * A tenant-scoped key may edit a series of its tenant that an unrestricted key created. Its edit
 * must not borrow the creator's wider rights: an audience it sets that reaches another tenant
 * (a conversation, which names no tenant) is not sent to by the series' runs.
 */
forEachStore((stores) => {
  let store: Store;
  let h: Harness;
  let p: Process;
  const clock = new TestClock(Date.parse("2026-07-01T08:00:00Z"));
  let inside = 0;
  let outside = 0;

  beforeAll(async () => {
    store = await stores.open();
    h = await startHarness(store, { emulator: { org: { tenants: 2, users: 6 } }, start: false });
    const org = h.emulator.org;
    const t0 = org.user(0).tenantId;
    outside = [1, 2, 3, 4, 5].find((i) => org.user(i).tenantId !== t0) ?? -1;
    inside = 0;
    expect(outside).toBeGreaterThan(0);
    await h.seedUsers([inside, outside]);
    p = await startProcess(h, store, clock);
  });
  afterAll(async () => {
    await p.stop();
    await h.close();
    await stores.cleanup();
  });

  it("a tenant-scoped key's edit cannot send an unrestricted key's series into another tenant", async () => {
    const org = h.emulator.org;
    const t0 = org.user(inside).tenantId;
    const scoped: Caller = { keyId: "tenant-key", tenants: [t0] };
    const s = await p.series.create(
      { audience: { users: [org.user(inside).id], tenantId: t0 }, message: { text: "for tenant 0" }, schedule: { cron: "0 9 * * *" } },
      admin,
    );
    // The scoped key sees the series (it names its tenant) and re-targets it at a chat of the other tenant.
    expect((await p.series.get(s.id, scoped))?.id).toBe(s.id);
    const edited = await p.series
      .edit(s.id, { audience: { conversations: [org.personalConversationId(outside)] }, message: { text: "leak" } }, scoped)
      .catch((e: { code?: string }) => e.code);
    clock.at = Date.parse("2026-07-01T09:00:05Z");
    await p.series.tick();
    const after = await p.series.get(s.id);
    expect(after?.pendingRunAt).toBeUndefined();
    // The run is written or skipped by now; had it been sent, the other tenant's chat would have it.
    const runs = await p.series.runs(s.id);
    if (runs[0]) await h.waitFor(runs[0].notificationId, (n) => !n.active);
    expect(h.received(outside).received).toBe(0);
    // Either the edit is refused or it stands and the run it shapes is refused (skipped).
    expect(edited === "HERALD_E_FORBIDDEN" || typeof edited === "object").toBe(true);
    // The series goes on within its tenant: aimed back at tenant 0, the next run reaches it.
    await p.series.edit(s.id, { audience: { users: [org.user(inside).id], tenantId: t0 } }, scoped);
    clock.at = Date.parse("2026-07-02T09:00:05Z");
    expect(await p.series.tick()).toBe(1);
    await pollUntil(
      () => h.received(inside).received,
      (n) => n === 1,
      "the next run reaches tenant 0",
    );
  });
});
