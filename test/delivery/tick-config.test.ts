import { describe, expect, it } from "vitest";
import { resolveDeliveryConfig } from "../../src/delivery/config.js";
import { compileWindow } from "../../src/delivery/limits/policy.js";
import { policiesFor } from "../../src/delivery/policies.js";

/**
 * Review (revtick2): HERALD_TENANT_TICK is checked (1..10, whole) only when read from the
 * environment; the engine's own config (createDeliveryEngine({ config: { tenantTick } })) was not.
 * A tick of 2.5 became a window group of 2.5 that compileWindow rejects at every limiter call:
 * each lane then logs "the rate limiter failed; trying again shortly" for ever and sends nothing.
 */
describe("DeliveryConfig.tenantTick", () => {
  it.each([2.5, 0, 11, -1, Number.NaN])("%s: refused, or a tenant policy the limiter can compile", (tenantTick) => {
    let accepted = true;
    try {
      resolveDeliveryConfig({ tenantTick });
    } catch (e) {
      expect((e as Error).message).toMatch(/HERALD_E_DELIVERY_CONFIG/);
      accepted = false;
    }
    if (accepted) for (const w of policiesFor(50, 1, tenantTick).tenant) expect(() => compileWindow(w)).not.toThrow();
  });
});

it("staleMs must be at least 4 heartbeats: the liveness gate's gap (2.5) plus the interval a peer's last heartbeat may be older than an outage", () => {
  expect(() => resolveDeliveryConfig({ heartbeatMs: 5_000, staleMs: 15_000 })).toThrow(
    /staleMs \(15000\) must be at least 4 × heartbeatMs/,
  );
  expect(resolveDeliveryConfig({ heartbeatMs: 5_000, staleMs: 20_000 }).staleMs).toBe(20_000);
});
