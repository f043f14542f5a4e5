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

/**
 * A request that failed without an answer. `written` tells whether undici had handed the request
 * to a connection (it writes it at once after): false when it failed while still queued or
 * connecting (refused, DNS, connect timeout, a reset during the TLS handshake, the pool closing),
 * so the server cannot have seen it; true when it failed afterwards (a reset, a timeout waiting
 * for the answer), so the server may have acted on it.
 */
export class TransportFailure extends Error {
  override readonly name = "TransportFailure";
  constructor(
    override readonly cause: unknown,
    readonly written: boolean,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/**
 * Send one request and read the whole answer. Throws a TransportFailure wrapping undici's error
 * as it is (see network-error.ts) and saying whether the request had been written.
 *
 * Written with a dispatch handler rather than `dispatcher.request` so that the moment the request
 * goes onto a connection (`onRequestStart`) is known: that is what tells a failure Teams cannot
 * have seen from one after which it may have delivered the message. No retry happens here or in
 * the Agent (no retry interceptor is installed): a request is written at most once.
 */
export function exchange(dispatcher: Dispatcher, req: HttpRequest): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const { signal } = req;
    let written = false;
    let settled = false;
    let status = 0;
    let retryAfter: string | string[] | undefined;
    const chunks: Buffer[] = [];
    const finish = (error: unknown, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      if (answer) resolve(answer);
      else reject(new TransportFailure(error, written));
    };
    let controller: Dispatcher.DispatchController | undefined;
    const onAbort = () => {
      // Not yet on a connection: undici aborts it when it gets one (onRequestStart below).
      controller?.abort(abortReason(signal));
      finish(abortReason(signal));
    };
    if (signal?.aborted) {
      finish(abortReason(signal));
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (signal?.aborted || settled) {
          c.abort(abortReason(signal));
          return;
        }
        written = true;
      },
      onResponseStart(_c, statusCode, headers) {
        status = statusCode;
        retryAfter = headers["retry-after"];
      },
      onResponseData(_c, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        finish(undefined, { status, body: Buffer.concat(chunks).toString("utf8"), retryAfter });
      },
      onResponseError(_c, error) {
        finish(error);
      },
    };
    try {
      dispatcher.dispatch(
        { origin: req.origin, path: req.path, method: req.method, headers: req.headers, body: req.body ?? null },
        handler,
      );
    } catch (error) {
      finish(error);
    }
  });
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  const e = new Error("This operation was aborted");
  e.name = "AbortError";
  return e;
}
