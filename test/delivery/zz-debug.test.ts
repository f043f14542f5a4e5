import { expect, it } from "vitest";
import { createStoreFactory } from "../helpers/stores.js";
import { admin, finished, request, startHarness } from "./helpers/harness.js";

it("debug pg backlog", async () => {
  const f = createStoreFactory("postgres");
  const h = await startHarness(await f.open(), { emulator: { org: { users: 600 }, faults: { slow: 0.3, slowMs: 150 } } });
  await h.seedUsers(Array.from({ length: 600 }, (_, i) => i));
  const t0 = Date.now();
  const { notification } = await h.engine.submit(request({ all: true }), admin);
  const timer = setInterval(() => {
    const s = h.engine.stats();
    console.log(Date.now() - t0, "req", s.requests, "written", s.resultsWritten, "batches", s.writeBatches, "inflight", s.inFlight, "buffered", s.buffered, "emu sends", h.stats()["sends"]);
  }, 200);
  await h.waitFor(notification.id, finished, 30_000);
  clearInterval(timer);
  expect(1).toBe(1);
  await h.close();
  await f.cleanup();
});
