import { expect, it } from "vitest";
import { createStoreFactory } from "../helpers/stores.js";
import { admin, finished, request, startHarness } from "./helpers/harness.js";

it("debug timing", async () => {
  const f = createStoreFactory("sqlite");
  const store = await f.open();
  const h = await startHarness(store, { emulator: { org: { tenants: 2, users: 300, teams: 4 } } });
  await h.seedUsers(Array.from({ length: 200 }, (_, i) => i));
  const t0 = Date.now();
  const { notification } = await h.engine.submit(request({ all: true }, { text: "x" }), admin);
  console.log("submitted", Date.now() - t0);
  const timer = setInterval(async () => {
    const n = await h.engine.get(notification.id);
    console.log(Date.now() - t0, JSON.stringify(n?.counts), n?.total, JSON.stringify(h.engine.stats()));
  }, 100);
  const done = await h.waitFor(notification.id, finished);
  clearInterval(timer);
  console.log("done", Date.now() - t0, done.counts, "violations", h.stats()["violations"], "throttled", h.stats()["throttled"]);
  expect(done.counts.sent).toBe(200);
  await h.close();
  await f.cleanup();
});
