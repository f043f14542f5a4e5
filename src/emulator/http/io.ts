import type { ServerResponse } from "node:http";

const JSON_TYPE = "application/json; charset=utf-8";

/** Write a JSON text as the whole answer. */
export function sendJsonText(res: ServerResponse, status: number, text: string, extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  if (extra) {
    const headers: Record<string, string | number> = { "content-type": JSON_TYPE, "content-length": Buffer.byteLength(text) };
    Object.assign(headers, extra);
    res.writeHead(status, headers);
  } else {
    // A flat [name, value, ...] list: node:http writes it without walking an object's keys.
    res.writeHead(status, ["content-type", JSON_TYPE, "content-length", String(Buffer.byteLength(text))]);
  }
  res.end(text);
}

/** Serialise a value as the whole JSON answer. */
export function sendJson(res: ServerResponse, status: number, value: unknown, extra?: Record<string, string>): void {
  sendJsonText(res, status, JSON.stringify(value), extra);
}

/** Answer with no body. */
export function sendEmpty(res: ServerResponse, status: number, extra?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-length": 0, ...extra });
  res.end();
}

/** Answer with a text body of the given type. */
export function sendText(res: ServerResponse, status: number, type: string, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
  res.end(text);
}

/** Parse a JSON body; undefined when it is empty or not JSON. */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString("utf8")) as unknown;
  } catch {
    return undefined;
  }
}

/** A plain object (not an array, not null), for narrowing parsed JSON. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `?a=1&b=2` → URLSearchParams (empty when none). */
export function queryOf(query: string): URLSearchParams {
  return new URLSearchParams(query);
}
