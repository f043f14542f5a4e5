import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** Every error Herald's HTTP surface answers: `{error: {code, message}}` with a 4xx/5xx status. */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** Answer `{error: {code, message}}` with `status` (and extra headers such as Retry-After). */
export function errorResponse(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  message: string,
  headers?: Record<string, string>,
): Response {
  return c.json({ error: { code, message } } satisfies ErrorBody, status, headers);
}

/** Read a request body as JSON within `maxBytes`; the failure says what was wrong. */
export async function readJson(
  req: Request,
  maxBytes: number,
): Promise<{ ok: true; value: unknown } | { ok: false; status: 400 | 413 | 415; code: string; message: string }> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) {
    return {
      ok: false,
      status: 413,
      code: "HERALD_E_BODY_TOO_LARGE",
      message: `The body is ${declared} bytes; at most ${maxBytes} are accepted.`,
    };
  }
  const type = req.headers.get("content-type") ?? "";
  if (type !== "" && !/^application\/([a-z.+-]*\+)?json\b/i.test(type)) {
    return {
      ok: false,
      status: 415,
      code: "HERALD_E_CONTENT_TYPE",
      message: `Content-Type must be application/json (got "${type.slice(0, 60)}").`,
    };
  }
  const body = req.body;
  if (!body) return { ok: false, status: 400, code: "HERALD_E_BODY_MISSING", message: "A JSON body is required." };
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return { ok: false, status: 413, code: "HERALD_E_BODY_TOO_LARGE", message: `The body is over ${maxBytes} bytes, the most accepted.` };
    }
    chunks.push(value);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return { ok: false, status: 400, code: "HERALD_E_BODY_MISSING", message: "A JSON body is required." };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, status: 400, code: "HERALD_E_MALFORMED_JSON", message: `The body is not valid JSON: ${(e as Error).message}` };
  }
}
