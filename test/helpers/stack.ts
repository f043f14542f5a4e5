import { loadConfig } from "../../src/config/config.js";
import type { DeliveryConfig } from "../../src/delivery/index.js";
import { type EmulatorHandle, type EmulatorOptions, startEmulator } from "../../src/emulator/index.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald, type HeraldOptions } from "../../src/server/herald.js";
import type { Store } from "../../src/store/ports.js";

export const STACK_API_KEY = "stack-admin-key-0123456789abcdef";

/** Herald listening on loopback with real JWT verification against a running emulator that posts to it. */
export interface Stack {
  emulator: EmulatorHandle;
  herald: Herald;
  heraldUrl: string;
  close(): Promise<void>;
}

/** What Herald needs to know of an emulator to take it for Teams (in process or its own process). */
export type EmulatorEndpoints = Pick<EmulatorHandle, "appId" | "tokenUrl" | "openIdMetadataUrl" | "tokenIssuer">;

/**
 * Herald's environment for a bot of `emulator`: it verifies the emulator's signed activities
 * (HERALD_OPENID_METADATA_URL), gets Connector tokens from its token endpoint, and trusts only
 * loopback as serviceUrl. HERALD_TENANT_RPS is "0" (no ceiling of Herald's own); `env` adds or
 * overrides variables.
 */
export function emulatorEnv(emulator: EmulatorEndpoints, env: Record<string, string> = {}): Record<string, string> {
  return {
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
  };
}

/** Options of startStack; every one is optional. */
export interface StackOptions {
  /** The emulator's options (clock, limits, seed, organisation). */
  emulator?: EmulatorOptions;
  /**
   * Herald reaches the emulator's Graph subset (HERALD_GRAPH_URL = the emulator's URL; Graph
   * tokens per tenant from its token endpoint) and installs the app for users it has no chat
   * with (HERALD_AUTO_INSTALL=on). Default false.
   */
  graph?: boolean;
  /** Environment variables added to or overriding emulatorEnv's (and graph's); a function gets the running emulator (its URL, its organisation). */
  env?: Record<string, string> | ((emulator: EmulatorHandle) => Record<string, string>);
  /** Delivery engine settings (HeraldOptions.delivery). */
  delivery?: Partial<DeliveryConfig>;
  /** Rate limiter margin in ms (HeraldOptions.limiterMarginMs; default 30). */
  limiterMarginMs?: number;
  /** Any other createHerald options (clock, storeTime, Graph page size...); they win over the two above. */
  herald?: Partial<Omit<HeraldOptions, "logger" | "store">>;
}

/**
 * The emulator as Teams, Herald as the bot, wired exactly as a deployment would be (see
 * emulatorEnv), Herald listening on a free loopback port and registered as the emulator's bot.
 */
export async function startStack(store: Store, options: StackOptions = {}): Promise<Stack> {
  const emulator = await startEmulator({ ...options.emulator });
  const graph: Record<string, string> = options.graph ? { HERALD_GRAPH_URL: emulator.url, HERALD_AUTO_INSTALL: "on" } : {};
  const env = typeof options.env === "function" ? options.env(emulator) : options.env;
  const config = loadConfig({ HERALD_PORT: "0", ...emulatorEnv(emulator, { ...graph, ...env }) });
  const herald = await createHerald(config, {
    logger: silentLogger,
    store,
    delivery: options.delivery,
    limiterMarginMs: options.limiterMarginMs,
    ...options.herald,
  });
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

/** JSON over HTTP, loosely typed for assertions. */
export async function call(
  method: string,
  url: string,
  body?: unknown,
  apiKey?: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (apiKey) headers["authorization"] = `Bearer ${apiKey}`;
  const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

/** Poll until `check` returns a value, or fail after `ms` with `what`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not before the deadline: ${what}`);
    // 10 checks a second: a check that calls the API (one or two requests) stays under the stack
    // key's request limit (20/s, bursts of 100); at 20 ms a slow wait drained it, and the test's
    // next call got 429 (test/reach/welcome-order failed that way on a loaded machine).
    await new Promise((r) => setTimeout(r, 100));
  }
}
