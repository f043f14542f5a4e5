import type { IncomingMessage, ServerResponse } from "node:http";
import type { AnswerFault } from "../faults/faults.js";

/** One HTTP request as a route handler sees it; the body is fully read before the handler runs. */
export interface Call {
  method: string;
  /** Path without the query string. */
  path: string;
  /** Raw query string without `?` ('' when none). */
  query: string;
  /** Values of the `:param` segments, URL-decoded, in order. */
  params: string[];
  body: Buffer;
  req: IncomingMessage;
  res: ServerResponse;
  /** A fault drawn for this request that spoils its answer once the request is done (faults.ts). */
  answerFault: AnswerFault | undefined;
}

export type Handler = (call: Call) => void | Promise<void>;

interface Route {
  /** Lower-cased literal segments; null = parameter. */
  segments: (string | null)[];
  handler: Handler;
}

/**
 * A tiny router for the hot path: routes are grouped by method and segment count, literals
 * compare case-insensitively (clients ask for both `pagedmembers` and `pagedMembers`), and
 * empty segments are ignored (`/_connector//v3/...` from a serviceUrl with a trailing slash).
 * Parameters take one segment; ids never contain `/` but may hold `:`, `;` and `@`, raw or
 * percent-encoded.
 */
export class Router {
  private readonly table = new Map<string, Route[][]>();

  /** Register `pattern` (e.g. `/v3/conversations/:id/activities`) for `method`. */
  add(method: string, pattern: string, handler: Handler): this {
    const segments = splitPath(pattern).map((s) => (s.startsWith(":") ? null : s.toLowerCase()));
    let byLength = this.table.get(method);
    if (!byLength) {
      byLength = [];
      this.table.set(method, byLength);
    }
    let routes = byLength[segments.length];
    if (!routes) {
      routes = [];
      byLength[segments.length] = routes;
    }
    routes.push({ segments, handler });
    return this;
  }

  /** The handler and decoded parameters for a request, or undefined (404). */
  match(method: string, segments: readonly string[]): { handler: Handler; params: string[] } | undefined {
    const routes = this.table.get(method)?.[segments.length];
    if (!routes) return undefined;
    for (const route of routes) {
      const params = matchRoute(route.segments, segments);
      if (params) return { handler: route.handler, params };
    }
    return undefined;
  }

  /** Whether any method has a route for these segments (to answer 405 instead of 404). */
  hasPath(segments: readonly string[]): boolean {
    for (const byLength of this.table.values()) {
      for (const route of byLength[segments.length] ?? []) if (matchRoute(route.segments, segments)) return true;
    }
    return false;
  }
}

function matchRoute(pattern: readonly (string | null)[], segments: readonly string[]): string[] | undefined {
  let params: string[] | undefined;
  for (let i = 0; i < pattern.length; i++) {
    const literal = pattern[i];
    const seg = segments[i]!;
    if (literal === null) {
      if (!params) params = [];
      params.push(seg.includes("%") ? safeDecode(seg) : seg);
    } else if (seg !== literal && seg.toLowerCase() !== literal) {
      return undefined;
    }
  }
  return params ?? [];
}

/**
 * Percent-decode a segment; one that does not decode is kept as it is. Escapes of ASCII
 * characters (conversation ids carry `%3A` for `:`) are decoded here without the cost of
 * `decodeURIComponent`; anything else (UTF-8 sequences, malformed escapes) goes through it.
 */
function safeDecode(segment: string): string {
  let out = "";
  let from = 0;
  let i = segment.indexOf("%");
  while (i >= 0) {
    const code = i + 2 < segment.length ? (hexValue(segment.charCodeAt(i + 1)) << 4) | hexValue(segment.charCodeAt(i + 2)) : -1;
    if (code < 0 || code > 0x7f) return slowDecode(segment);
    out += segment.slice(from, i) + String.fromCharCode(code);
    from = i + 3;
    i = segment.indexOf("%", from);
  }
  return from === 0 ? segment : out + segment.slice(from);
}

/** 0..15 for a hex digit; a large negative number otherwise, so a bad escape reads as < 0. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -0x1000;
}

function slowDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Non-empty segments of a path. */
export function splitPath(path: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= path.length; i++) {
    if (i === path.length || path.charCodeAt(i) === 47 /* / */) {
      if (i > start) out.push(path.slice(start, i));
      start = i + 1;
    }
  }
  return out;
}

/** `/_connector/` → `/_connector`; `/` or '' → ''. */
export function normalisePrefix(prefix: string | undefined): string {
  const segs = splitPath(prefix ?? "");
  return segs.length ? `/${segs.join("/")}` : "";
}
