import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { Notification } from "../../src/delivery/model.js";
import type { NotificationRequest } from "../../src/delivery/request.js";
import { forEachStore } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const admin = { keyId: "test-admin" } as const;
const finished = (n: Notification): boolean => !n.active;

/** The emulator's control API (`/_emulator/...`). */
async function control(h: BatchHarness, method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(`${h.emulator.url}/_emulator/${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** Poll `check` every 25 ms until it holds (no sleeps: a deadline). */
async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The batch path when Teams' answers go wrong, on both stores: a credentials failure pauses the
 * rows (none fails) until the credentials work; a 502/504 from a gateway after Teams accepted the
 * submit is in doubt (HERALD_IN_FLIGHT_POLICY, never a blind resubmit); a failing poll is asked
 * again with backoff until the operation ends, with no unhandled rejection anywhere.
 */
forEachStore((stores) => {
  let h: BatchHarness | undefined;
  const rejections: unknown[] = [];
  const onRejection = (e: unknown) => rejections.push(e);
  beforeAll(() => {
    process.on("unhandledRejection", onRejection);
  });
  afterAll(() => {
    process.off("unhandledRejection", onRejection);
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
    expect(rejections).toEqual([]);
  });
  const USERS = 40;
  const users = Array.from({ length: USERS }, (_, i) => i);
  const setup = async () => {
    const store = await stores.open();
    const hh = await startBatchHarness(store, { org: { users: USERS, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
    await hh.seedUsers(users);
    h = hh;
    return hh;
  };
  const batchOf = (hh: BatchHarness, text: string): NotificationRequest => ({
    audience: { users: users.map((i) => hh.emulator.org.user(i).id), tenantId: hh.emulator.org.user(0).tenantId },
    message: { text },
    delivery: { mode: "batch" },
  });
  const backoff = { credentialBackoff: { baseMs: 100, capMs: 400, probeTimeoutMs: 5_000 } };

  it("the token endpoint refusing the secret pauses the batch (no row fails); fixed, every user gets it once", async () => {
    const hh = await setup();
    const engine = await hh.engine({ config: backoff });
    await control(hh, "PUT", "token-faults", { mode: "expiredSecret" });
    const { notification } = await engine.submit(batchOf(hh, "paused by credentials"), admin);
    // Several token refusals: the submit waited through more than one pause.
    await until(
      "three token refusals",
      async () => Number(((await control(hh, "GET", "token-faults")) as { refused: number }).refused) >= 3,
    );
    const during = await engine.get(notification.id);
    expect(during?.counts.failed).toBe(0);
    expect(during?.counts.pending).toBe(USERS);
    expect(engine.credentials().ok).toBe(false);
    expect(hh.counter("batchOperations")).toBe(0);
    await control(hh, "DELETE", "token-faults");
    const done = await hh.waitFor(engine, notification.id, finished);
    expect(done.counts.sent).toBe(USERS);
    expect(hh.counter("batchOperations")).toBe(1);
    for (const i of users) expect(hh.emulator.context.counts.get(i).received).toBe(1);
    expect(engine.credentials().ok).toBe(true);
  });

  it("a Connector 401 on the submit (a token Teams refuses) pauses the batch too: probes go on, no row fails", async () => {
    const hh = await setup();
    const engine = await hh.engine({ config: backoff });
    await control(hh, "PUT", "token-faults", { mode: "invalidToken" });
    const { notification } = await engine.submit(batchOf(hh, "401"), admin);
    // Several 401s: the submit is probed again after each pause instead of failing its rows.
    await until("three 401s", () => hh.counter("unauthorized") >= 3);
    const during = await engine.get(notification.id);
    expect(during?.counts).toMatchObject({ pending: USERS, failed: 0 });
    expect(engine.credentials()).toMatchObject({ ok: false, code: "HERALD_E_CONNECTOR_401" });
    expect(hh.counter("batchOperations")).toBe(0);
    // (Recovery from a refused token is the token cache's: it drops a token only once it is 30 s old; the
    // test above shows the rows going out once the credentials work.)
  });

  for (const kind of ["deliver502", "deliver504"] as const) {
    it(`a ${kind.slice(-3)} after Teams accepted the submit is in doubt: rows unknown, never resubmitted (default policy)`, async () => {
      const hh = await setup();
      const engine = await hh.engine();
      // Only the next Connector request (the submit) gets the fault; the emulator does it, then answers 5xx.
      await control(hh, "PUT", "faults", { [kind]: 1, count: 1 });
      const { notification } = await engine.submit(batchOf(hh, "in doubt"), admin);
      const done = await hh.waitFor(engine, notification.id, finished);
      expect(hh.counter("faultDeliverGateway")).toBe(1);
      expect(hh.counter("batchOperations")).toBe(1);
      expect(done.counts).toMatchObject({ unknown: USERS, failed: 0, sent: 0 });
      for (const i of users) expect(hh.emulator.context.counts.get(i).received).toBe(1);
      for (const r of await hh.rows(engine, notification.id)) expect(r.lastErrorCode).toBe("HERALD_E_IN_FLIGHT");
    });
  }

  it("polls that keep failing are asked again with backoff (no giving up): the operation settles, each user once", async () => {
    const hh = await setup();
    const engine = await hh.engine({ batch: { pollMs: 100 } });
    // More failures in a row than the old limit of 8: the first 10 reads (state polls) fail, the submit goes through.
    await control(hh, "PUT", "faults", { status503: 1, count: 10, method: "GET" });
    const { notification } = await engine.submit(batchOf(hh, "flaky polls"), admin);
    const done = await hh.waitFor(engine, notification.id, finished, 60_000);
    expect(hh.counter("fault503")).toBe(10);
    expect(hh.counter("batchOperations")).toBe(1);
    expect(done.counts.sent).toBe(USERS);
    for (const i of users) expect(hh.emulator.context.counts.get(i).received).toBe(1);
  });
});
