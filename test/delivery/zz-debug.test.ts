import { expect, it } from "vitest";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import { createStoreFactory } from "../helpers/stores.js";
import { admin, finished, request, startHarness } from "./helpers/harness.js";

it("debug 3 tenants", async () => {
  const f = createStoreFactory("sqlite");
  const inner = new InProcessRateLimiter({ marginMs: 80 });
  const adm: Record<string, number[]> = {};
  const dep: Record<string, number> = {};
  const arr: Record<string, number> = {};
  let lastTenantAdmit = 0;
  const limiter = {
    tryAcquire: async (k: Parameters<InProcessRateLimiter["tryAcquire"]>[0], now: number) => {
      const w = await inner.tryAcquire(k, now);
      if (w === 0 && k[0]!.key.startsWith("tenant:")) lastTenantAdmit = performance.now();
      if (w === 0 && k[0]!.key.startsWith("send:")) adm[k[0]!.key.slice(5)] = [lastTenantAdmit, performance.now()];
      return w;
    },
    block: (key: string, until: number) => inner.block(key, until),
  };
  const h = await startHarness(await f.open(), {
    emulator: { tenantRps: 50, org: { tenants: 3, users: 180 } }, config: { tenantRps: 50 }, limiter,
    wrapConnector: (c) => ({ ...c, createConversation: c.createConversation.bind(c), sendToConversation: (s, conv, a, sig) => { dep[conv] = performance.now(); return c.sendToConversation(s, conv, a, sig); } }),
  });
  const ctx = h.emulator.context;
  const org = h.emulator.org;
  const origAdmit = ctx.limits.admit.bind(ctx.limits);
  ctx.limits.admit = (tenant, key, cls, now) => { arr[org.personalConversationId(key as number)] = performance.now(); return origAdmit(tenant, key, cls, now); };
  await h.seedUsers(Array.from({ length: 180 }, (_, i) => i));
  const { notification } = await h.engine.submit(request({ all: true }), admin);
  await h.waitFor(notification.id, finished, 20_000);
  const t0 = Math.min(...Object.values(adm).map((a) => a[0]!));
  for (let t = 0; t < 1; t++) {
    const convs = Array.from({ length: 60 }, (_, k) => org.personalConversationId(t * 60 + k)).sort((a, b) => adm[a]![0]! - adm[b]![0]!);
    console.log(convs.slice(0, 25).map((c) => `${(adm[c]![0]! - t0).toFixed(0)} slot->dep ${(dep[c]! - adm[c]![1]!).toFixed(1)} dep->arr ${(arr[c]! - dep[c]!).toFixed(1)}`).join("\n"));
  }
  expect(1).toBe(1);
  await h.close();
  await f.cleanup();
});
