import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { call, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

type Json = Record<string, unknown>;

/**
 * DELETE /v1/notifications/{id} of a batch notification, over Herald's HTTP API against the
 * emulator, on both stores: rows not yet submitted end `canceled`, running operations are
 * canceled at Teams (their unreported rows `canceled` only when Teams' counts show it sent none
 * of them; an operation canceled before it processed anything reports no counts (`{}`), which
 * confirms nothing, so those end `unknown`), and the answer says how many copies went out
 * without an activity id and stay.
 * PATCH stays 409. /metrics counts batch sends.
 */
forEachStore((stores) => {
  let store: Store;
  let stack: Stack;
  const USERS = 50;
  const url = (path: string) => `${stack.heraldUrl}${path}`;
  const api = (method: string, path: string, body?: unknown) => call(method, url(path), body, STACK_API_KEY);
  const user = (i: number) => stack.emulator.org.user(i);
  const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
  /** Messages the users received (installing the app greets each of them once: counted from the test's start). */
  const receivedNow = (users: number[]) => users.reduce((sum, i) => sum + stack.emulator.context.counts.get(i).received, 0);
  const greeted = new Map<number, number>();
  const received = (users: number[]) => receivedNow(users) - users.reduce((sum, i) => sum + (greeted.get(i) ?? 0), 0);
  const post = async (users: number[], extra: Json = {}) => {
    const res = await api("POST", "/v1/notifications", {
      audience: { users: users.map((i) => user(i).id), tenantId: user(0).tenantId },
      message: { text: "batch to cancel" },
      delivery: { mode: "batch" },
      ...extra,
    });
    expect(res.status).toBe(202);
    return String(res.json["id"]);
  };
  /** Poll (10 a second: under the key's request limit) until `check` answers. */
  const poll = async <T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await check();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`not before the deadline: ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  /** herald_deliveries_total{outcome="sent"} on /metrics. */
  const sentMetric = async () => {
    const text = await (await fetch(url("/metrics"))).text();
    return Number(/^herald_deliveries_total\{outcome="sent"\} (\d+)/m.exec(text)?.[1] ?? "0");
  };
  const rows = async (id: string) => (await api("GET", `/v1/notifications/${id}/deliveries?limit=200`)).json["items"] as Json[];
  const inactive = (id: string) =>
    poll(`${id} finished`, async () => {
      const n = await api("GET", `/v1/notifications/${id}`);
      return n.json["status"] === "canceled" && (n.json["counts"] as Json)["pending"] === 0 ? n.json : undefined;
    });

  beforeAll(async () => {
    store = await stores.open();
    stack = await startStack(store, {
      emulator: { org: { users: USERS, tenants: 1, blockedShare: 0, uninstalledShare: 0 } },
      env: { HERALD_BATCH: "on" },
    });
    await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
    // Herald greets each new install: wait until every greeting is sent and counted, so the test's figures are its own.
    await poll("greetings sent", async () => ((await sentMetric()) >= USERS ? true : undefined));
    for (let i = 0; i < USERS; i++) greeted.set(i, receivedNow([i]));
    // A sent greeting ends its chat's welcome hold a moment later (its result written first). A
    // batch posted while a hold is live finds its rows held, leaves them to single sends, and the
    // tests below, which are about the batch path, would see those instead.
    await poll("welcome holds ended", async () => {
      for (let i = 0; i < USERS; i++) {
        const chat = await store.conversations.findPersonal(user(i).tenantId, user(i).id);
        const hold = chat && (await store.welcomes?.get(chat.id));
        if (hold && Date.parse(hold.until) > Date.now()) return undefined;
      }
      return true;
    });
  });
  afterEach(() => {
    stack.emulator.context.batches.stallAfter = undefined;
    stack.emulator.context.faults.set({});
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("a batch notification nothing was sent of (scheduled): DELETE cancels every row, 202; PATCH stays 409", async () => {
    const users = range(0, 10);
    const id = await post(users, { schedule: new Date(Date.now() + 600_000).toISOString() });
    const res = await api("DELETE", `/v1/notifications/${id}`);
    expect(res.status).toBe(202);
    expect(res.json["status"]).toBe("canceled");
    expect(res.json["counts"]).toMatchObject({ canceled: 10, pending: 0, sent: 0 });
    expect(res.json["batch"]).toMatchObject({ notRecallable: 0, operationsCanceled: 0 });
    for (const r of await rows(id)) expect(r["status"]).toBe("canceled");
    // Recalled: an edit is a 409 saying so.
    const patch = await api("PATCH", `/v1/notifications/${id}`, { message: { text: "v2" } });
    expect(patch.status).toBe(409);
    // (HERALD_E_RECALLED, or HERALD_E_BATCH_NO_ACTIVITY_IDS while the batch path still has it: both say why.)
    expect(["HERALD_E_RECALLED", "HERALD_E_BATCH_NO_ACTIVITY_IDS"]).toContain((patch.json["error"] as Json)["code"]);
    expect(received(users)).toBe(0);
  });

  it("DELETE while an operation runs cancels it at Teams: Teams sent none of it but reports no counts, so its rows end unknown (never claimed canceled)", async () => {
    stack.emulator.context.batches.stallAfter = 0;
    const users = range(10, 10);
    const id = await post(users);
    await poll("rows wait on an operation", async () => {
      const rs = await rows(id);
      return rs.length === users.length && rs.every((r) => r["lastErrorCode"] === "batch/running") ? rs : undefined;
    });
    const res = await api("DELETE", `/v1/notifications/${id}`);
    expect(res.status).toBe(202);
    expect(res.json["batch"]).toMatchObject({ notRecallable: 0, operationsCanceled: 1 });
    expect(String((res.json["batch"] as Json)["message"])).toMatch(/no activity id/);
    const done = await inactive(id);
    expect(done["counts"]).toMatchObject({ canceled: 0, sent: 0, unknown: 10 });
    for (const r of await rows(id)) expect(r).toMatchObject({ status: "unknown", lastErrorCode: "batch/Canceled" });
    expect(received(users)).toBe(0);
  });

  it("DELETE of an operation Teams had partly sent: its unreported rows end unknown, naming the operation", async () => {
    stack.emulator.context.batches.stallAfter = 3;
    const users = range(20, 10);
    const id = await post(users);
    await poll("rows wait on an operation", async () => {
      const rs = await rows(id);
      return rs.length === users.length && rs.every((r) => r["lastErrorCode"] === "batch/running") ? rs : undefined;
    });
    await poll("three delivered", async () => (received(users) === 3 ? true : undefined));
    const res = await api("DELETE", `/v1/notifications/${id}`);
    expect(res.status).toBe(202);
    expect(res.json["batch"]).toMatchObject({ operationsCanceled: 1 });
    const done = await inactive(id);
    expect(done["counts"]).toMatchObject({ unknown: 10 });
    for (const r of await rows(id)) {
      expect(r["status"]).toBe("unknown");
      expect(String(r["lastErrorMessage"])).toMatch(/batch operation \S+ ended Canceled/);
    }
    expect(received(users)).toBe(3);
  });

  it("DELETE of a batch notification already sent: 202, nothing changes, the answer says the copies stay; PATCH is 409; /metrics counted them", async () => {
    const before = await sentMetric();
    const users = range(30, 10);
    const id = await post(users);
    await poll("sent", async () => {
      const n = await api("GET", `/v1/notifications/${id}`);
      return n.json["status"] === "completed" ? n : undefined;
    });
    const res = await api("DELETE", `/v1/notifications/${id}`);
    expect(res.status).toBe(202);
    expect(res.json["counts"]).toMatchObject({ sent: 10, canceled: 0 });
    expect(res.json["batch"]).toMatchObject({ notRecallable: 10, operationsCanceled: 0 });
    expect(String((res.json["batch"] as Json)["message"])).toMatch(/cannot be (deleted|recalled)/);
    expect(received(users)).toBe(10);
    const patch = await api("PATCH", `/v1/notifications/${id}`, { message: { text: "v2" } });
    expect(patch.status).toBe(409);
    expect((patch.json["error"] as Json)["code"]).toBe("HERALD_E_BATCH_NO_ACTIVITY_IDS");
    expect((await sentMetric()) - before).toBe(10);
    // The batch calls are timed like single sends.
    const text = await (await fetch(url("/metrics"))).text();
    for (const operation of ["startBatch", "getBatchState"])
      expect(text).toMatch(new RegExp(`^herald_send_duration_seconds_count\\{[^}]*operation="${operation}"`, "m"));
  });

  it("DELETE while the submit is on its way: the operation Teams then starts is canceled at once, nothing is sent (rows unknown: no counts confirm it)", async () => {
    stack.emulator.context.batches.stallAfter = 0;
    // Every Connector request answers 1.5 s late: the DELETE lands while the submit waits for its 201.
    stack.emulator.context.faults.set({ slow: 1, slowMs: 1_500 });
    const users = range(40, 10);
    const id = await post(users);
    await poll("rows submitting", async () => {
      const rs = await rows(id);
      return rs.length === users.length && rs.every((r) => r["lastErrorCode"] === "batch/submitting") ? rs : undefined;
    });
    const res = await api("DELETE", `/v1/notifications/${id}`);
    expect(res.status).toBe(202);
    expect(res.json["batch"]).toMatchObject({ notRecallable: 0, operationsCanceled: 0 });
    const done = await inactive(id);
    expect(done["counts"]).toMatchObject({ canceled: 0, sent: 0, unknown: 10 });
    expect(received(users)).toBe(0);
  });
});
