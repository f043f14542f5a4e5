import { loadConfig } from "../../src/config/config.js";
import type { DeliveryConfig } from "../../src/delivery/index.js";
import { type EmulatorHandle, type EmulatorOptions, startEmulator } from "../../src/emulator/index.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import type { Store } from "../../src/store/ports.js";

export const STACK_API_KEY = "stack-admin-key-0123456789abcdef";

/** Herald listening on loopback with real JWT verification against a running emulator that posts to it. */
export interface Stack {
  emulator: EmulatorHandle;
  herald: Herald;
  heraldUrl: string;
  close(): Promise<void>;
}

/**
 * The emulator as Teams, Herald as the bot, wired exactly as a deployment would be: Herald
 * verifies the emulator's signed activities (HERALD_OPENID_METADATA_URL), gets Connector tokens
 * from its token endpoint, and trusts only loopback as serviceUrl.
 */
export async function startStack(
  store: Store,
  options: { emulator?: EmulatorOptions; env?: Record<string, string>; delivery?: Partial<DeliveryConfig>; limiterMarginMs?: number } = {},
): Promise<Stack> {
  const emulator = await startEmulator({ ...options.emulator });
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
    ...options.env,
  });
  const herald = await createHerald(config, {
    logger: silentLogger,
    store,
    delivery: options.delivery,
    limiterMarginMs: options.limiterMarginMs,
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
    await new Promise((r) => setTimeout(r, 20));
  }
}
