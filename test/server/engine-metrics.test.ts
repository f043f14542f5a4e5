import { afterAll, beforeAll, expect, it } from "vitest";
import { Metrics } from "../../src/observability/metrics.js";
import { registerEngineMetrics } from "../../src/server/engine-metrics.js";
import { admin, type Harness, request, startHarness } from "../delivery/helpers/harness.js";
import { createStoreFactory } from "../helpers/stores.js";

const stores = createStoreFactory("sqlite");
let h: Harness;

beforeAll(async () => {
  // The engine is not started: everything submitted stays queued.
  h = await startHarness(await stores.open(), { emulator: { org: { users: 3 } }, start: false });
  await h.seedUsers([0, 1, 2]);
});
afterAll(async () => {
  await h.close();
  await stores.cleanup();
});

it("herald_queue_depth counts the pending recipients of every queued notification, past the first page of 1,000", async () => {
  const conversations = [0, 1, 2].map((i) => h.emulator.org.personalConversationId(i));
  for (let k = 0; k < 1_050; k++) await h.engine.submit(request({ conversations }, { text: `n${k}` }), admin);
  const metrics = new Metrics();
  registerEngineMetrics(metrics, h.engine);
  const text = await metrics.render();
  expect(text).toMatch(/^herald_queue_depth 3150$/m);
}, 60_000);
