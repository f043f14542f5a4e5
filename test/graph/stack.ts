import type { Store } from "../../src/store/ports.js";
import { call, STACK_API_KEY, type Stack, type StackOptions, startStack } from "../helpers/stack.js";

export type Json = Record<string, unknown>;

/**
 * The stack of test/helpers/stack.ts with Graph on (StackOptions.graph) and a tenant ceiling of
 * 50 requests/s (HERALD_TENANT_RPS, which `env` may override).
 */
export async function startGraphStack(store: Store, options: Omit<StackOptions, "graph"> = {}): Promise<Stack> {
  return startStack(store, { ...options, graph: true, env: { HERALD_TENANT_RPS: "50", ...options.env } });
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
