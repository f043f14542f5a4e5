import { Agent, type Dispatcher } from "undici";

/**
 * The pooled keep-alive HTTP underneath the Connector client and the token providers. One undici
 * Agent keeps a bounded pool of connections per origin (each regional Connector host, the token
 * endpoint); requests beyond the bound queue inside undici instead of opening more sockets.
 */
export interface HttpOptions {
  /**
   * Most connections open at once to one origin. Default 64: at Teams' ~100-300 ms per send
   * that carries 200-600 sends/s per Connector host, above the 50/s per-tenant ceiling times a
   * dozen tenants, while staying a polite number of sockets.
   */
  connectionsPerOrigin: number;
  /** Close a connection idle this long, in ms. Default 30 000 (undici's own default, 4 s, reconnects too often between bursts). */
  keepAliveTimeoutMs: number;
  /** Upper bound when the server's `Keep-Alive: timeout=` hint asks for longer, in ms. Default 600 000. */
  keepAliveMaxTimeoutMs: number;
  /** Give up establishing a TCP/TLS connection after this long, in ms. Default 10 000. */
  connectTimeoutMs: number;
  /**
   * Give up waiting for the answer's headers after this long, in ms. Default 30 000 (undici's
   * default is 300 s; a Connector call normally answers well under 1 s, create conversation in a few).
   */
  headersTimeoutMs: number;
  /** Give up when the body stalls for this long between chunks, in ms. Default 30 000. */
  bodyTimeoutMs: number;
  /** Refuse answers larger than this, in bytes. Default 8 MiB (a 500-member page is a few hundred KB). */
  maxResponseBytes: number;
}

export const defaultHttpOptions: Readonly<HttpOptions> = Object.freeze({
  connectionsPerOrigin: 64,
  keepAliveTimeoutMs: 30_000,
  keepAliveMaxTimeoutMs: 600_000,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  maxResponseBytes: 8 * 1024 * 1024,
});

/** Create the shared Agent. Close it (`await agent.close()`) when the process stops. */
export function createHttpAgent(options: Partial<HttpOptions> = {}): Agent {
  const o = { ...defaultHttpOptions, ...options };
  return new Agent({
    connections: o.connectionsPerOrigin,
    pipelining: 1,
    keepAliveTimeout: o.keepAliveTimeoutMs,
    keepAliveMaxTimeout: o.keepAliveMaxTimeoutMs,
    connect: { timeout: o.connectTimeoutMs },
    headersTimeout: o.headersTimeoutMs,
    bodyTimeout: o.bodyTimeoutMs,
    maxResponseSize: o.maxResponseBytes,
  });
}

/** One request: origin and path already split so undici parses no URL. */
export interface HttpRequest {
  origin: string;
  path: string;
  method: Dispatcher.HttpMethod;
  headers: Record<string, string>;
  body?: string | undefined;
  signal?: AbortSignal | undefined;
}

/** The answer, body read in full (the connection goes back to the pool at once). */
export interface HttpAnswer {
  status: number;
  body: string;
  /** The raw `Retry-After` header. */
  retryAfter: string | string[] | undefined;
}

/** Send one request and read the whole answer. Throws undici's errors as they are (see network-error.ts). */
export async function exchange(dispatcher: Dispatcher, req: HttpRequest): Promise<HttpAnswer> {
  // HttpRequest is already undici's RequestOptions: no second object per request.
  const res = await dispatcher.request(req);
  const body = await res.body.text();
  return { status: res.statusCode, body, retryAfter: res.headers["retry-after"] };
}
