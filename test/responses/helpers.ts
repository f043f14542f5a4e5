import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";

/** Shared steps of the responses tests: the emulator's control API and Herald's HTTP API. */

export async function control(stack: Stack, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${stack.emulator.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

/**
 * Herald's HTTP API with the stack's key. The key is limited to 20 requests/s and the polls of
 * `eventually` can pass that on a busy machine: a 429 is waited out (its 1 s) and asked again.
 */
export function api(
  stack: Stack,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  return past429(() => call(method, `${stack.heraldUrl}${path}`, body, STACK_API_KEY));
}

/** A text download (a CSV) with the stack's admin key; like `api`, waits out the per-key limit's 429s. */
export async function download(stack: Stack, path: string): Promise<string> {
  const res = await past429(async () => {
    const r = await fetch(`${stack.heraldUrl}${path}`, { headers: { authorization: `Bearer ${STACK_API_KEY}` } });
    return { status: r.status, text: await r.text() };
  });
  return res.text;
}

/** `request` again after 1 s while it answers 429 (at most 10 more times). */
async function past429<T extends { status: number }>(request: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const res = await request();
    if (res.status !== 429 || attempt >= 10) return res;
    await new Promise((r) => setTimeout(r, 1_000));
  }
}

/** Send a notification and wait until every delivery is done; returns its id and its deliveries. */
export async function sendAndWait(
  stack: Stack,
  body: unknown,
): Promise<{ id: string; deliveries: { seq: number; conversationId: string; activityId: string; status: string }[] }> {
  const sent = await api(stack, "POST", "/v1/notifications", body);
  if (sent.status !== 202) throw new Error(`send answered ${sent.status}: ${JSON.stringify(sent.json)}`);
  const id = String(sent.json["id"]);
  await eventually(
    "notification completed",
    async () => ((await api(stack, "GET", `/v1/notifications/${id}`)).json["status"] === "completed" ? true : undefined),
    60_000,
  );
  const list = await api(stack, "GET", `/v1/notifications/${id}/deliveries?limit=1000`);
  return { id, deliveries: list.json["items"] as { seq: number; conversationId: string; activityId: string; status: string }[] };
}

/** The text of every TextBlock in a card (to read what a person sees). */
export function cardText(card: unknown): string {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (typeof node === "object" && node !== null) {
      const o = node as Record<string, unknown>;
      if (o["type"] === "TextBlock" && typeof o["text"] === "string") out.push(o["text"]);
      Object.values(o).forEach(walk);
    }
  };
  walk(card);
  return out.join("\n");
}

/** The card of an invoke answer (`{statusCode: 200, type: ...card.adaptive, value}`). */
export function answeredCard(body: unknown): unknown {
  const b = body as { type?: string; value?: unknown } | undefined;
  return b?.type === "application/vnd.microsoft.card.adaptive" ? b.value : undefined;
}
