import { afterAll, expect, it } from "vitest";
import { addsUp, admin, finished, type Harness, request, startHarness } from "../delivery/helpers/harness.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * An engine that does not run in this process (a library host with `engine: false`, an engine
 * not yet started) sends nothing, batch notifications included: its batch path would send without
 * a heartbeat of its own, and every other process would take its rows for a dead process's
 * (ended `unknown`, or sent again under HERALD_IN_FLIGHT_POLICY=resend). Such a notification is
 * sent one by one by whichever engine runs (here: this one, once started), once.
 */
const stores = createStoreFactory("sqlite");
let h: Harness | undefined;
afterAll(async () => {
  await h?.close();
  await stores.cleanup();
});

it("a batch notification submitted to an engine not started is not sent until an engine runs; then once, one by one", async () => {
  h = await startHarness(await stores.open(), { start: false, emulator: { org: { users: 6 } } });
  const users = [0, 1, 2, 3, 4, 5];
  await h.seedUsers(users);
  const org = h.emulator.org;
  const { notification } = await h.engine.submit(
    request(
      { users: users.map((i) => org.user(i).id), tenantId: org.user(0).tenantId },
      { text: "batch" },
      { delivery: { mode: "batch" } },
    ),
    admin,
  );
  await new Promise((r) => setTimeout(r, 1_500));
  expect(users.map((i) => h!.received(i).received)).toEqual(users.map(() => 0));
  expect((await h.engine.get(notification.id))?.counts).toMatchObject({ pending: users.length, sent: 0 });
  await h.engine.start();
  const done = await h.waitFor(notification.id, finished, 20_000);
  expect(done.counts).toMatchObject({ sent: users.length, pending: 0, unknown: 0 });
  expect(addsUp(done)).toBe(true);
  expect(users.map((i) => h!.received(i).received)).toEqual(users.map(() => 1));
}, 60_000);
