import { type Clock, systemClock } from "../../src/clock.js";
import { loadConfig } from "../../src/config/config.js";
import { startEmulator } from "../../src/emulator/index.js";
import { silentLogger } from "../../src/log.js";
import { createHerald } from "../../src/server/herald.js";
import type { Store } from "../../src/store/ports.js";
import { STACK_API_KEY, type Stack } from "../helpers/stack.js";

/**
 * A clock that runs at real speed from a time the test sets, and only moves forward: Herald and
 * the emulator share it, so signed activities and tokens agree while days pass in a second.
 */
export class TestClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
  /** Jump to `iso` (must be later than now). */
  jump(iso: string): void {
    const target = Date.parse(iso);
    if (target < this.now()) throw new Error(`the test clock only moves forward (now ${new Date(this.now()).toISOString()}, asked ${iso})`);
    this.offset = target - Date.now();
  }
}

/** The people of the test organisation and their zones (Teams reports each person's zone with every activity). */
export const people = [
  { name: "Ada London", timezone: "Europe/London" },
  { name: "Bob NewYork", timezone: "America/New_York" },
  { name: "Chie Tokyo", timezone: "Asia/Tokyo" },
  { name: "Dan Capped", timezone: "Europe/London" },
  { name: "Eve Commands", timezone: "Europe/Paris" },
  { name: "Fay Card", timezone: "Europe/Berlin" },
] as const;

/** The stack of test/helpers/stack.ts with an injected clock (also the store's time) and a fast poll. */
export async function startClockedStack(store: Store, clock: TestClock, env: Record<string, string>): Promise<Stack> {
  const emulator = await startEmulator({
    clock,
    limits: false,
    seed: 11,
    orgData: { tenants: [{ name: "Contoso", users: people.map((p) => ({ name: p.name, timezone: p.timezone })) }] },
  });
  const config = loadConfig({
    HERALD_PORT: "0",
    HERALD_APP_ID: emulator.appId,
    HERALD_APP_PASSWORD: "emulator-secret",
    HERALD_APP_TYPE: "MultiTenant",
    HERALD_TOKEN_ENDPOINT: emulator.tokenUrl,
    HERALD_OPENID_METADATA_URL: emulator.openIdMetadataUrl,
    HERALD_TOKEN_ISSUER: emulator.tokenIssuer,
    HERALD_TRUSTED_HOSTS: "127.0.0.1",
    HERALD_API_KEY: STACK_API_KEY,
    HERALD_TENANT_RPS: "0",
    ...env,
  });
  const herald = await createHerald(config, { logger: silentLogger, store, clock, storeTime: "clock", delivery: { pollMs: 50 } });
  const listener = await herald.listen();
  await fetch(`${emulator.url}/_emulator/bot`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ endpoint: `${listener.url}/api/messages` }),
  });
  return {
    emulator,
    herald,
    heraldUrl: listener.url,
    async close() {
      await herald.close();
      await emulator.close();
    },
  };
}
