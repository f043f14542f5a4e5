import { expect, it } from "vitest";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import { createStoreFactory } from "../helpers/stores.js";
import { admin, finished, request, startHarness } from "./helpers/harness.js";

it("debug 429", async () => {
  const f = createStoreFactory("sqlite");
  const inner = new InProcessRateLimiter({ marginMs: 40 });
  const log: string[] = [];
  const t0 = Date.now();
  const limiter = {
    tryAcquire: (k: Parameters<InProcessRateLimiter["tryAcquire"]>[0], now: number) => inner.tryAcquire(k, now),
    block: (key: string, until: number) => { log.push(`${Date.now() - t0} block ${key.slice(0, 20)} +${until - Date.now()}`); return inner.block(key, until); },
  };
  const h = await startHarness(await f.open(), {
    emulator: { tenantRps: 10, timeScale: 4, violationGraceMs: 100, org: { users: 60 } },
    config: { tenantRps: 0, maxInFlight: 16, timeScale: 4 },
    limiter,
  });
  const ctx = h.emulator.context;
  const orig = ctx.limits.isViolation.bind(ctx.limits);
  ctx.limits.isViolation = (tenant, key, now) => { const v = orig(tenant, key, now); if (v) log.push(`${Date.now() - t0} VIOLATION key=${key}`); return v; };
  const origAdmit = ctx.limits.admit.bind(ctx.limits);
  ctx.limits.admit = (tenant, key, cls, now) => { const r = origAdmit(tenant, key, cls, now); log.push(`${Date.now() - t0} ${r ? `429 ${r.scope} ${r.retry.header}` : "ok"} key=${key}`); return r; };
  const users = Array.from({ length: 50 }, (_, i) => i);
  await h.seedUsers(users);
  const { notification } = await h.engine.submit(request({ conversations: users.map((i) => h.emulator.org.personalConversationId(i)) }), admin);
  await h.waitFor(notification.id, finished, 20_000);
  console.log(log.slice(0, 150).join("\n"));
  expect(1).toBe(1);
  await h.close();
  await f.cleanup();
});
