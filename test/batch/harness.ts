import { systemClock } from "../../src/clock.js";
import type { HttpConnectorClient } from "../../src/connector/http-client.js";
import { createConnectorClient } from "../../src/connector/index.js";
import type { BatchSettings } from "../../src/delivery/batch/runner.js";
import type { DeliveryConfig } from "../../src/delivery/config.js";
import { createDeliveryEngine, type DeliveryEngine } from "../../src/delivery/engine.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import type { Delivery, Notification } from "../../src/delivery/model.js";
import { type EmulatorHandle, type EmulatorOptions, startEmulator } from "../../src/emulator/index.js";
import type { CounterName } from "../../src/emulator/store/counters.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";

/**
 * The batch path's tests: a real emulator over real HTTP, a real store, and engines that can be
 * started and stopped on the same store (a restart). Conversations are seeded as installs would.
 */
export interface BatchHarness {
  emulator: EmulatorHandle;
  /** Start an engine on the store (the HTTP Connector client doubles as the batch client). */
  engine(options?: { config?: Partial<DeliveryConfig>; batch?: Partial<BatchSettings> }): Promise<DeliveryEngine>;
  seedUsers(indexes: Iterable<number>): Promise<void>;
  /** Store the General channel conversation of a team (emulator team index). */
  seedTeam(index: number): Promise<void>;
  waitFor(engine: DeliveryEngine, id: string, until: (n: Notification) => boolean, timeoutMs?: number): Promise<Notification>;
  rows(engine: DeliveryEngine, id: string): Promise<Delivery[]>;
  counter(name: CounterName): number;
  close(): Promise<void>;
}

export async function startBatchHarness(store: Store, emulatorOptions: EmulatorOptions = {}): Promise<BatchHarness> {
  const emulator = await startEmulator({ messageCap: 0, ...emulatorOptions });
  const clients: HttpConnectorClient[] = [];
  const engines: DeliveryEngine[] = [];
  const org = emulator.org;
  return {
    emulator,
    async engine(options = {}) {
      const connector = createConnectorClient(
        {
          appId: emulator.appId,
          appPassword: "secret",
          appTenantId: undefined,
          appType: "MultiTenant",
          cloud: "public",
          tokenEndpoint: emulator.tokenUrl,
          trustedHosts: ["127.0.0.1"],
        },
        { clock: systemClock },
      );
      clients.push(connector);
      const engine = createDeliveryEngine({
        store,
        connector,
        batch: connector,
        batchSettings: { pollMs: 200, ...options.batch },
        limiter: new InProcessRateLimiter({ marginMs: 50 }),
        logger: silentLogger,
        config: { tenantRps: 0, pollMs: 100, heartbeatMs: 200, staleMs: 1_000, appId: emulator.appId, ...options.config },
      });
      engines.push(engine);
      await engine.start();
      return engine;
    },
    async seedUsers(indexes) {
      for (const i of indexes) {
        const u = org.user(i);
        await store.conversations.upsert({
          id: org.personalConversationId(i),
          kind: "personal",
          tenantId: u.tenantId,
          serviceUrl: emulator.connectorUrl,
          channelId: "msteams",
          bot: { id: `28:${emulator.appId}` },
          user: { id: u.id, name: u.name, aadObjectId: u.aadObjectId },
          at: new Date().toISOString(),
          status: "active",
        });
      }
    },
    async seedTeam(index) {
      const t = org.teams[index]!;
      await store.conversations.upsert({
        id: t.id,
        kind: "channel",
        tenantId: org.tenants[t.tenantIndex]!.id,
        serviceUrl: emulator.connectorUrl,
        channelId: "msteams",
        bot: { id: `28:${emulator.appId}` },
        team: { id: t.id, name: t.name, aadGroupId: t.aadGroupId },
        channel: { id: t.id, name: "General" },
        at: new Date().toISOString(),
        status: "active",
      });
    },
    async waitFor(engine, id, until, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Notification | undefined;
      for (;;) {
        last = await engine.get(id);
        if (last && until(last)) return last;
        if (Date.now() > deadline)
          throw new Error(
            `notification ${id} not there in ${timeoutMs} ms; last: ${JSON.stringify(last && { status: last.status, counts: last.counts })}`,
          );
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async rows(engine, id) {
      const out: Delivery[] = [];
      let cursor: string | undefined;
      do {
        const page = await engine.deliveries(id, {}, { limit: 1_000, cursor });
        out.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      return out;
    },
    counter: (name) => emulator.context.counters.snapshot()[name],
    async close() {
      for (const e of engines) await e.stop();
      for (const c of clients) await c.close();
      await emulator.close();
    },
  };
}
