import { loadConfig } from "../../src/config/config.js";
import { type EmulatorOptions, startEmulator } from "../../src/emulator/index.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type HeraldOptions } from "../../src/server/herald.js";
import type { Store } from "../../src/store/ports.js";
import { call, STACK_API_KEY, type Stack } from "../helpers/stack.js";

export type Json = Record<string, unknown>;

/**
 * The stack of test/helpers/stack.ts with Graph: Herald reaches the emulator's Graph subset
 * (HERALD_GRAPH_URL, auth on: Graph tokens per tenant from the emulator's token endpoint) and
 * installs the app for users it has no chat with (HERALD_AUTO_INSTALL=on).
 */
export async function startGraphStack(
  store: Store,
  options: { emulator?: EmulatorOptions; env?: Record<string, string>; herald?: Partial<HeraldOptions> } = {},
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
    HERALD_TENANT_RPS: "50",
    HERALD_GRAPH_URL: emulator.url,
    HERALD_AUTO_INSTALL: "on",
    ...options.env,
  });
  const herald = await createHerald(config, { logger: silentLogger, store, ...options.herald });
  const listener = await herald.listen();
  await call("PUT", `${emulator.url}/_emulator/bot`, { endpoint: `${listener.url}/api/messages` });
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

/** Messages a conversation holds in the emulator, oldest first. */
export async function messagesOf(stack: Stack, conversationId: string): Promise<Json[]> {
  const r = await call("GET", `${stack.emulator.url}/_emulator/conversations/${encodeURIComponent(conversationId)}/messages`);
  return (r.json["messages"] ?? []) as Json[];
}

/** The emulator's Graph counters. */
export async function graphCounters(stack: Stack): Promise<Record<string, number>> {
  return (await call("GET", `${stack.emulator.url}/_emulator/graph`)).json["counters"] as Record<string, number>;
}

/** Submit a notification through the API and wait until it completed; returns its view and rows. */
export async function notifyAndWait(stack: Stack, body: Json, ms = 20_000): Promise<{ view: Json; rows: Json[] }> {
  const created = await call("POST", `${stack.heraldUrl}/v1/notifications`, body, STACK_API_KEY);
  if (created.status !== 202) throw new Error(`POST /v1/notifications answered ${created.status}: ${JSON.stringify(created.json)}`);
  const id = created.json["id"] as string;
  const deadline = Date.now() + ms;
  for (;;) {
    const view = (await call("GET", `${stack.heraldUrl}/v1/notifications/${id}`, undefined, STACK_API_KEY)).json;
    if (view["status"] === "completed") {
      await stack.herald.handler.drain();
      const rows = (await call("GET", `${stack.heraldUrl}/v1/notifications/${id}/deliveries?limit=1000`, undefined, STACK_API_KEY)).json;
      return { view, rows: (rows["items"] ?? []) as Json[] };
    }
    if (Date.now() > deadline) throw new Error(`notification ${id} not completed: ${JSON.stringify(view)}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
