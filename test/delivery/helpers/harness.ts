import { type Clock, systemClock } from "../../../src/clock.js";
import type { ConnectorClient } from "../../../src/connector/client.js";
import type { HttpConnectorClient } from "../../../src/connector/http-client.js";
import { createConnectorClient } from "../../../src/connector/index.js";
import type { HttpOptions } from "../../../src/connector/transport.js";
import type { DeliveryConfig } from "../../../src/delivery/config.js";
import { createDeliveryEngine, type DeliveryEngine } from "../../../src/delivery/engine.js";
import { InProcessRateLimiter } from "../../../src/delivery/limits/memory.js";
import type { RateLimiter } from "../../../src/delivery/limits/rate-limiter.js";
import type { Notification } from "../../../src/delivery/model.js";
import type { NotificationRequest } from "../../../src/delivery/request.js";
import { type EmulatorHandle, type EmulatorOptions, startEmulator } from "../../../src/emulator/index.js";
import { type Logger, silentLogger } from "../../../src/log.js";
import type { Store } from "../../../src/store/ports.js";

/**
 * A delivery engine wired to a real emulator over real HTTP (token flow included) and a real
 * store, for the engine tests. Conversations are seeded into the store straight from the
 * emulator's organisation, as an install would have recorded them.
 */
export interface Harness {
  emulator: EmulatorHandle;
  store: Store;
  engine: DeliveryEngine;
  connector: HttpConnectorClient;
  limiter: RateLimiter;
  /** Store the personal chats of these users (emulator user indexes). */
  seedUsers(indexes: Iterable<number>): Promise<void>;
  /** Store the General channel conversation of a team (emulator team index). */
  seedTeam(index: number): Promise<void>;
  /** The notification once `until` holds (polled), or a failure naming what it last saw. */
  waitFor(id: string, until: (n: Notification) => boolean, timeoutMs?: number): Promise<Notification>;
  /** What a user's 1:1 chat received, from the emulator. */
  received(userIndex: number): { received: number; updated: number; deleted: number };
  /** Emulator counters (global). */
  stats(): Record<string, number>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  emulator?: EmulatorOptions;
  config?: Partial<DeliveryConfig>;
  limiter?: RateLimiter;
  /** Wrap the Connector client the engine uses (to observe its requests). */
  wrapConnector?: (c: ConnectorClient) => ConnectorClient;
  /** Run the engine (default true). */
  start?: boolean;
  /** Pool and timeout settings of the Connector client (e.g. a short headers timeout). */
  connectorHttp?: Partial<HttpOptions>;
  /** The engine's clock (default the system clock). */
  clock?: Clock;
  /** The engine's logger (default silent). */
  logger?: Logger;
}

/**
 * Small, fast defaults for tests: retries after 20-40 ms, short polls, and a tenant ceiling of
 * 400 requests per second that the emulator enforces too (limits on both sides, tests quick).
 */
export const testTenantRps = 400;
export const testDeliveryConfig: Partial<DeliveryConfig> = {
  tenantRps: testTenantRps,
  pollMs: 100,
  heartbeatMs: 200,
  staleMs: 1_000,
  retry: { maxAttempts: 8, maxTotalMs: 60_000, baseMs: 40, capMs: 400 },
};

export async function startHarness(store: Store, options: HarnessOptions = {}): Promise<Harness> {
  const emulator = await startEmulator({
    messageCap: 2_000,
    tenantRps: testTenantRps,
    ...options.emulator,
    org: { blockedShare: 0, uninstalledShare: 0, ...options.emulator?.org },
  });
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
    { clock: systemClock, http: options.connectorHttp },
  );
  // The emulator shares this process's event loop: a stall (a SQLite commit, GC) delays when it
  // reads requests, bunching their arrival times, and parallel test files share two cores. 150 ms
  // of margin absorbs that (production uses the limiter's default).
  const limiter = options.limiter ?? new InProcessRateLimiter({ marginMs: 150 });
  const engine = createDeliveryEngine({
    store,
    connector: options.wrapConnector ? options.wrapConnector(connector) : connector,
    // The batch path is present as in production (HERALD_BATCH on by default): individual-mode notifications must not notice it.
    batch: connector,
    limiter,
    clock: options.clock,
    // A simulated clock that jumps days ahead is the store's time too (StoreClock on PostgreSQL
    // would pull it back to the server's); test/delivery/clock-skew.test.ts covers the database clock.
    storeTime: options.clock ? "clock" : undefined,
    logger: options.logger ?? silentLogger,
    config: { ...testDeliveryConfig, appId: emulator.appId, ...options.config },
  });
  if (options.start !== false) await engine.start();
  const org = emulator.org;
  const at = () => new Date().toISOString();
  return {
    emulator,
    store,
    engine,
    connector,
    limiter,
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
          locale: u.locale,
          at: at(),
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
        at: at(),
        status: "active",
      });
    },
    async waitFor(id, until, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Notification | undefined;
      for (;;) {
        last = await engine.get(id);
        if (last && until(last)) return last;
        if (Date.now() > deadline)
          throw new Error(
            `notification ${id} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last && { status: last.status, total: last.total, counts: last.counts, edit: last.edit, recall: last.recall })}`,
          );
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    received: (i) => emulator.context.counts.get(i),
    stats: () => emulator.context.counters.snapshot(),
    async close() {
      await engine.stop();
      await connector.close();
      await emulator.close();
    },
  };
}

/** True when the counts add up to the total (the accounting invariant). */
export function addsUp(n: Notification): boolean {
  return Object.values(n.counts).reduce((a, b) => a + b, 0) === n.total;
}

/** Finished: completed (or canceled) with nothing left to do. */
export const finished = (n: Notification): boolean => !n.active;

/** A call to the emulator's control API (`/_emulator/<path>`): its JSON answer; throws with the answer when not 2xx. */
export async function emulatorControl(h: Pick<Harness, "emulator">, method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(`${h.emulator.url}/_emulator/${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

/** Poll `probe` every 20 ms until `until` holds (its last value), or fail naming `what` and what it last saw. */
export async function pollUntil<T>(probe: () => T | Promise<T>, until: (v: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (until(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: last saw ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A request with defaults. */
export function request(
  audience: NotificationRequest["audience"],
  message: NotificationRequest["message"] = { text: "Hello ${givenName}" },
  extra: Partial<NotificationRequest> = {},
): NotificationRequest {
  return { audience, message, ...extra };
}

export const admin = { keyId: "test-admin" } as const;
