import { Hono } from "hono";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ApiEnv, adminKeyVerifier } from "../../src/api/auth.js";
import { notificationRoutes } from "../../src/api/notifications.js";
import { seriesRoutes } from "../../src/api/series.js";
import type { Store } from "../../src/store/ports.js";
import { type Harness, startHarness } from "../delivery/helpers/harness.js";
import { createStoreFactory } from "../helpers/stores.js";
import { type Process, startProcess, TestClock } from "./helpers.js";

/**
 * `idempotencyKey` promises "the same key never sends twice". A cron schedule on
 * POST /v1/notifications makes a series, which has no idempotency: a client's retry would make a
 * second series and every run would reach everyone twice. Refused, naming the field, instead.
 */
const adminKey = "schedule-idem-admin-key-0123456789";
const stores = createStoreFactory("sqlite");
let store: Store;
let h: Harness;
let p: Process;
let app: Hono<ApiEnv>;

beforeAll(async () => {
  store = await stores.open();
  h = await startHarness(store, { emulator: { org: { users: 1 } }, start: false });
  p = await startProcess(h, store, new TestClock(Date.parse("2026-11-02T06:00:00Z")));
  const keys = adminKeyVerifier(adminKey);
  app = new Hono<ApiEnv>();
  app.route("/", notificationRoutes(p.engine, keys, {}, p.series));
  app.route("/", seriesRoutes(p.series, keys));
});
afterAll(async () => {
  await p.stop();
  await h.close();
  await stores.cleanup();
});

it("a retried cron request with an idempotencyKey does not make a second series", async () => {
  const post = async () => {
    const res = await app.request("/v1/notifications", {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        audience: { conversations: [h.emulator.org.personalConversationId(0)] },
        message: { text: "digest" },
        schedule: { cron: "0 9 * * *" },
        idempotencyKey: "digest-2026-11",
      }),
    });
    return { status: res.status, body: (await res.json()) as { error?: { message?: string } } };
  };
  const first = await post();
  const retry = await post();
  const series = await p.series.list({}, { limit: 10 });
  // Either the key is honoured (one series, the retry answered with it) or refused naming the field.
  if (first.status === 400) {
    expect(first.body.error?.message).toMatch(/^idempotencyKey: /);
    expect(retry.status).toBe(400);
    expect(series.items).toHaveLength(0);
  } else {
    expect(series.items).toHaveLength(1);
  }
});
