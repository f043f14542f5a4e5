import { afterEach, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import type { HttpConnectorClient } from "../../src/connector/http-client.js";
import { createConnectorClient } from "../../src/connector/index.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import { policiesFor, tenantBucket } from "../../src/delivery/policies.js";
import { type EmulatorHandle, startEmulator } from "../../src/emulator/index.js";
import { silentLogger } from "../../src/log.js";
import { pacedReads } from "../../src/server/paced-reads.js";

/**
 * A member read (the install path asks each new user's name) answered 429 must hold the tenant
 * for every sender until Retry-After, as a send's 429 does. It held nothing: in `npx herald demo`
 * the install of 2,756 people met one tenant 429 on a read, and the tenant's next 47 reads went
 * out within that second (the emulator counted 47 violations).
 */
let emulator: EmulatorHandle | undefined;
let connector: HttpConnectorClient | undefined;
afterEach(async () => {
  await connector?.close();
  await emulator?.close();
  connector = undefined;
  emulator = undefined;
});

/**
 * The emulator, a Connector client to it and pacedReads over a fresh limiter; the tenant's next
 * GET answered 429 with `Retry-After: retryAfterSeconds`, or with `token`, the token endpoint's
 * next answers instead.
 */
async function setUp(retryAfterSeconds: number, where: "connector" | "token" = "connector") {
  emulator = await startEmulator({ messageCap: 0, org: { users: 4, tenants: 1, blockedShare: 0, uninstalledShare: 0 } });
  const em = emulator;
  connector = createConnectorClient(
    {
      appId: em.appId,
      appPassword: "secret",
      appTenantId: undefined,
      appType: "MultiTenant",
      cloud: "public",
      tokenEndpoint: em.tokenUrl,
      trustedHosts: ["127.0.0.1"],
    },
    { clock: systemClock },
  );
  const limiter = new InProcessRateLimiter({ marginMs: 0 });
  const policies = policiesFor(50, 1);
  const conn = connector;
  const reads = pacedReads({
    connector: conn,
    limiter,
    policies,
    clock: systemClock,
    logger: silentLogger,
  });
  const r = await fetch(`${em.url}/_emulator/${where === "token" ? "token-faults" : "faults"}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(
      where === "token" ? { mode: "throttled", retryAfterSeconds } : { status429: 1, count: 1, method: "GET", retryAfterSeconds },
    ),
  });
  expect(r.ok).toBe(true);
  return { em, limiter, policies, reads };
}

it("a member read answered 429: the tenant and the conversation's read bucket wait out its Retry-After; the next read goes after it", async () => {
  const { em, limiter, policies, reads } = await setUp(1);
  const user = (i: number) => em.org.user(i);
  const tenantId = user(0).tenantId;
  const refusedAt = Date.now();
  await expect(reads.member(em.connectorUrl, em.org.personalConversationId(0), user(0).id, tenantId)).rejects.toMatchObject({
    status: 429,
  });
  // Every sender of the tenant now waits about a second.
  expect(await limiter.tryAcquire([tenantBucket(policies, tenantId)], Date.now())).toBeGreaterThan(500);
  const m = await reads.member(em.connectorUrl, em.org.personalConversationId(1), user(1).id, tenantId);
  expect(m?.name).toBe(user(1).name);
  expect(Date.now() - refusedAt).toBeGreaterThanOrEqual(900);
});

it("a read's 5-minute Retry-After holds the tenant for all of it (up to 30 minutes)", async () => {
  const { em, limiter, policies, reads } = await setUp(300);
  const tenantId = em.org.user(0).tenantId;
  await expect(reads.member(em.connectorUrl, em.org.personalConversationId(0), em.org.user(0).id, tenantId)).rejects.toMatchObject({
    status: 429,
  });
  // Judged as a send with a 2-minute retry budget (before 1befb5e), this 5-minute Retry-After held nothing (a wait of 0).
  expect(await limiter.tryAcquire([tenantBucket(policies, tenantId)], Date.now())).toBeGreaterThan(290_000);
});

it("a 429 of the token endpoint holds no tenant: it is the credentials' matter, not the tenant's limit", async () => {
  const { em, limiter, policies, reads } = await setUp(300, "token");
  const tenantId = em.org.user(0).tenantId;
  await expect(reads.member(em.connectorUrl, em.org.personalConversationId(0), em.org.user(0).id, tenantId)).rejects.toMatchObject({
    source: "token",
    status: 429,
  });
  // At most the wait for the tenant's next slot at 50 a second (the read took one), not 300 s.
  expect(await limiter.tryAcquire([tenantBucket(policies, tenantId)], Date.now())).toBeLessThan(1_000);
});
