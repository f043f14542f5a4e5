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
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, status: 400, code: "HERALD_E_MALFORMED_JSON", message: `The body is not valid JSON: ${(e as Error).message}` };
  }
  // Herald walks a body recursively (sizes, templates, canonical hashes): one nested thousands of
  // levels deep overflowed the stack (a 500). Refused here, before anything walks it.
  const deep = tooDeepPath(value, "body");
  if (deep !== undefined)
    return {
      ok: false,
      status: 400,
      code: "HERALD_E_INVALID_BODY",
      message: `${deep}: nested more than ${maxJsonDepth} levels deep, the most Herald accepts (an Adaptive Card needs far fewer); flatten it.`,
    };
  // JSON can carry a NUL or a lone UTF-16 surrogate only escaped; PostgreSQL stores neither in
  // text or jsonb (SQLSTATE 22021 / 22P05: a 500 before). Refused here, naming the field.
  const bad = /\\u(0000|d[89a-f])/i.test(text) ? unstorablePath(value, "body") : undefined;
  if (bad !== undefined)
    return {
      ok: false,
      status: 400,
      code: "HERALD_E_INVALID_BODY",
      message: `${bad}: contains a NUL character (\\u0000) or half of a surrogate pair, which Herald cannot store; remove it.`,
    };
  return { ok: true, value };
}

/** How deep a request body's arrays and objects may nest. */
export const maxJsonDepth = 64;

/** An array or object tooDeepPath met: how deep, and where it sits (for the path of the one refused). */
type JsonNode = { value: object; depth: number; parent: JsonNode | undefined; key: string | number };

/**
 * The path of the first array or object nested deeper than maxJsonDepth (shortened), e.g.
 * `body.data.a[0][0]…`; undefined when none. Iterative (the body may be deeper than the stack),
 * depth-first in the parsed order (document order, but integer-like keys come first); the path
 * is built only for the one it refuses.
 */
function tooDeepPath(value: unknown, root: string): string | undefined {
  const stack: JsonNode[] = [];
  const push = (v: unknown, depth: number, parent: JsonNode | undefined, key: string | number) => {
    if (v !== null && typeof v === "object") stack.push({ value: v, depth, parent, key });
  };
  push(value, 0, undefined, "");
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.depth >= maxJsonDepth) return pathOf(node, root);
    const v = node.value;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) push(v[i], node.depth + 1, node, i);
    } else {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const k = keys[i] as string;
        push((v as Record<string, unknown>)[k], node.depth + 1, node, k);
      }
    }
  }
  return undefined;
}

/** `root.a[0].b…` from a node's parents, its first 120 characters. */
function pathOf(node: JsonNode, root: string): string {
  const keys: (string | number)[] = [];
  for (let n: JsonNode | undefined = node; n?.parent !== undefined; n = n.parent) keys.push(n.key);
  let path = root;
  for (const k of keys.reverse()) {
    path += typeof k === "number" ? `[${k}]` : `.${k}`;
    if (path.length > 120) return `${path.slice(0, 120)}…`;
  }
  return path;
}

/** A lone half of a UTF-16 surrogate pair (what String.prototype.isWellFormed looks for; ES2024). */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const storable = (s: string): boolean => !s.includes("\0") && !loneSurrogate.test(s);

/** The path of the first string (or key) Herald cannot store, e.g. `body.audience.users[2]`; undefined when none. */
function unstorablePath(value: unknown, path: string): string | undefined {
  if (typeof value === "string") return storable(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unstorablePath(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (!storable(k)) return `${path} (a field name)`;
      const found = unstorablePath(v, `${path}.${k}`);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
