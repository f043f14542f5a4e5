import { afterEach, expect, it } from "vitest";
import { HttpConnectorClient } from "../../src/connector/http-client.js";
import { forEachStore } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

/**
 * Review (rev2) of the batch path: a recalled notification's batch submit is never sent again.
 * (Two more findings of that review are open and listed in docs/batch.md: BotDisabledByAdmin on
 * submit fails the rows instead of pausing the tenant; a Canceled operation with no status counts.)
 */
const admin = { keyId: "test-admin" } as const;

forEachStore((stores) => {
  let h: BatchHarness | undefined;
  let restore: (() => void) | undefined;
  afterEach(async () => {
    restore?.();
    restore = undefined;
    await h?.close();
    h = undefined;
  });
  const USERS = 6;
  const users = Array.from({ length: USERS }, (_, i) => i);

  it("HERALD_IN_FLIGHT_POLICY=resend: a DELETE lands while the submit waits for its answer, which is a 502 after Teams started it: no one gets a second copy after the recall, the notification ends", async () => {
    const store = await stores.open();
    const hh = await startBatchHarness(store, { org: { users: USERS, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    h = hh;
    await hh.seedUsers(users);
    // The submit's answer (a 502 the emulator gives after doing the request) is held until the DELETE is done.
    let deleted!: () => void;
    const recallDone = new Promise<void>((r) => {
      deleted = r;
    });
    let submits = 0;
    const proto = HttpConnectorClient.prototype;
    const original = proto.startBatch;
    proto.startBatch = async function (this: HttpConnectorClient, ...args: Parameters<HttpConnectorClient["startBatch"]>) {
      submits++;
      try {
        return await original.apply(this, args);
      } finally {
        await recallDone;
      }
    };
    restore = () => {
      proto.startBatch = original;
    };
    const engine = await hh.engine({ config: { inFlightPolicy: "resend" } });
    const r = await fetch(`${hh.emulator.url}/_emulator/faults`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ deliver502: 1, count: 1 }),
    });
    expect(r.ok).toBe(true);
    const tenantId = hh.emulator.org.user(0).tenantId;
    const { notification } = await engine.submit(
      {
        audience: { users: users.map((i) => hh.emulator.org.user(i).id), tenantId },
        message: { text: "recalled while in doubt" },
        delivery: { mode: "batch" },
      },
      admin,
    );
    // The emulator did the operation (then answered 502, held back here): every user has the first copy.
    const deadline = Date.now() + 20_000;
    while (hh.counter("faultDeliverGateway") < 1 || users.some((i) => hh.emulator.context.counts.get(i).received < 1)) {
      if (Date.now() > deadline) throw new Error("the first operation never delivered");
      await new Promise((res) => setTimeout(res, 25));
    }
    await engine.recall(notification.id, admin);
    deleted();
    const done = await hh.waitFor(engine, notification.id, (n) => !n.active);
    expect(done.status).toBe("canceled");
    expect(done.counts.pending).toBe(0);
    const rows = await hh.rows(engine, notification.id);
    expect({ submits, rows: rows.map((x) => [x.status, x.lastErrorCode, x.activityId !== undefined]) }).toEqual({
      submits: 1,
      rows: rows.map((x) => [x.status, x.lastErrorCode, false]),
    });
    for (const i of users) expect(hh.emulator.context.counts.get(i).received).toBe(1);
  });
});

forEachStore((stores) => {
  let h: BatchHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("a dead process's unanswered submit of a recalled notification, taken over under resend: its rows end unknown, not back in the ready queue to be sent after the recall", async () => {
    const store = await stores.open();
    const hh = await startBatchHarness(store, { org: { users: 4, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    h = hh;
    const users = [0, 1, 2, 3];
    await hh.seedUsers(users);
    const engine = await hh.engine({ config: { inFlightPolicy: "resend" } });
    const at = Date.now() + 3_600_000;
    const { notification } = await engine.submit(
      {
        audience: { users: users.map((i) => hh.emulator.org.user(i).id), tenantId: hh.emulator.org.user(0).tenantId },
        message: { text: "scheduled" },
        delivery: { mode: "batch" },
        schedule: new Date(at).toISOString(),
      },
      admin,
    );
    const batches = store.batches;
    if (!batches) throw new Error("no batch store");
    // A process (no heartbeat: dead) took the rows and died before Teams answered its submit.
    const taken = await batches.take(notification.id, "sub-dead", 100, at + 1_000, "worker-dead");
    expect(taken).toHaveLength(4);
    await engine.recall(notification.id, admin);
    const now = Date.now();
    await batches.recoverSubmits(
      { self: "worker-live", staleBefore: now - 1_000, now, othersAreDead: !store.deliveries.shared, busy: new Set(), unowned: false },
      "resend",
      { status: "unknown", code: "HERALD_E_IN_FLIGHT", message: "in flight" },
    );
    const rows = await hh.rows(engine, notification.id);
    // Teams may have started the dead process's submit: unknown (as under the default policy), never pending to be sent again.
    expect(rows.map((r) => r.status)).toEqual(["unknown", "unknown", "unknown", "unknown"]);
  });
});
