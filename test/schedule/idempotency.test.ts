import type { Hono } from "hono";
import { beforeAll, expect, it } from "vitest";
import type { ApiEnv } from "../../src/api/auth.js";
import { createStoreFactory } from "../helpers/stores.js";
import { scheduleApi, TestClock, useProcess } from "./helpers.js";

/**
 * `idempotencyKey` promises "the same key never sends twice". A cron schedule on
 * POST /v1/notifications makes a series, which has no idempotency: a client's retry would make a
 * second series and every run would reach everyone twice. Refused, naming the field, instead.
 */
const adminKey = "schedule-idem-admin-key-0123456789";
const stores = createStoreFactory("sqlite");
let app: Hono<ApiEnv>;
const bed = useProcess(stores, new TestClock(Date.parse("2026-11-02T06:00:00Z")), { users: 1 });
beforeAll(() => {
  app = scheduleApi(bed.p, adminKey);
});

it("a retried cron request with an idempotencyKey does not make a second series", async () => {
  const post = async () => {
    const res = await app.request("/v1/notifications", {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({
        audience: { conversations: [bed.h.emulator.org.personalConversationId(0)] },
        message: { text: "digest" },
        schedule: { cron: "0 9 * * *" },
        idempotencyKey: "digest-2026-11",
      }),
    });
    return { status: res.status, body: (await res.json()) as { error?: { message?: string } } };
  };
  const first = await post();
  const retry = await post();
  const series = await bed.p.series.list({}, { limit: 10 });
  // Either the key is honoured (one series, the retry answered with it) or refused naming the field.
  if (first.status === 400) {
    expect(first.body.error?.message).toMatch(/^idempotencyKey: /);
    expect(retry.status).toBe(400);
    expect(series.items).toHaveLength(0);
  } else {
    expect(series.items).toHaveLength(1);
  }
});
