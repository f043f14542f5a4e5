// The load generator: `concurrency` keep-alive connections, one request in flight per
// connection, a fixed number of requests. Every target gets exactly this generator.
//
// Two clients, the same protocol on the wire (HTTP/1.1 POST with content-type and
// content-length, keep-alive, no pipelining):
// - `raw` (default): plain node:net sockets, each request written in one call from a prebuilt
//   head, responses framed by hand (content-length, chunked, or until close). On a 2-core
//   machine the generator's CPU time per request is what the server's sends/s are paced by
//   (each answer wakes the generator, whose next request wakes the server), so the generator
//   must cost far less than the server it measures; undici's costs about as much as the server.
// - `undici`: one undici Pool with `dispatch` and a minimal handler (the earlier generator),
//   kept for comparison.
import { connect } from "node:net";
import { Pool } from "undici";

function undiciSender(origin, concurrency, body) {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = ["content-type", "application/json"];
  const send = (path, done) => {
    let status = 0;
    pool.dispatch(
      { method: "POST", path, headers, body },
      {
        onRequestStart() {},
        onResponseStart(_controller, statusCode) {
          status = statusCode;
        },
        onResponseData() {},
        onResponseEnd() {
          done(status);
        },
        onResponseError(_controller, err) {
          done(err.code ?? "error");
        },
      },
    );
  };
  // One "connection" per worker: the Pool picks the socket itself.
  return { lanes: Array.from({ length: concurrency }, () => send), close: () => pool.close() };
}

const CRLF2 = Buffer.from("\r\n\r\n");

/**
 * One keep-alive connection of the raw client. `send(path, done)` writes one request and calls
 * `done(status)` with the final status once the whole response is read, or `done(code)` with an
 * error code (e.g. ECONNREFUSED, ECONNRESET) if the connection failed; the next send reconnects.
 */
class RawConnection {
  constructor(host, port, tail, body) {
    this.host = host;
    this.port = port;
    this.tail = tail;
    this.body = body;
    this.socket = undefined;
    this.buf = undefined;
    this.done = undefined;
    this.status = 0;
    // Framing of the response being read: -1 until its head is complete.
    this.bodyStart = -1;
    this.need = 0;
    this.chunked = false;
    this.untilClose = false;
    this.close = false;
    this.lastPath = undefined;
    this.lastRequest = undefined;
    this.onData = (chunk) => this.data(chunk);
    this.onEnd = (err) => this.ended(err);
  }

  send(path, done) {
    this.done = done;
    if (!this.socket) this.open();
    this.socket.write(this.request(path));
  }

  /** The whole request as one Buffer (one write call); the last one is reused for the same path. */
  request(path) {
    if (path === this.lastPath) return this.lastRequest;
    const headLength = 5 + path.length + this.tail.length;
    const out = Buffer.allocUnsafe(headLength + this.body.length);
    out.latin1Write(`POST ${path}${this.tail}`, 0);
    this.body.copy(out, headLength);
    this.lastPath = path;
    this.lastRequest = out;
    return out;
  }

  open() {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    socket.on("data", this.onData);
    socket.on("error", this.onEnd);
    socket.on("close", () => this.ended(undefined));
    this.socket = socket;
    this.buf = undefined;
    this.bodyStart = -1;
  }

  data(chunk) {
    this.buf = this.buf === undefined ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.bodyStart < 0 && !this.head()) return;
      if (this.untilClose) return;
      const end = this.chunked
        ? chunkedEnd(this.buf, this.bodyStart)
        : this.bodyStart + this.need <= this.buf.length
          ? this.bodyStart + this.need
          : -1;
      if (end < 0) return;
      const rest = end < this.buf.length ? this.buf.subarray(end) : undefined;
      const informational = this.status < 200;
      this.buf = rest;
      this.bodyStart = -1;
      if (informational) {
        if (rest === undefined) return;
        continue;
      }
      this.finish(this.status);
      return;
    }
  }

  /** Parse the response head once it is complete; false while it is not. */
  head() {
    const at = this.buf.indexOf(CRLF2);
    if (at < 0) return false;
    const head = this.buf.latin1Slice(0, at).toLowerCase();
    this.status = Number(head.slice(9, 12));
    this.bodyStart = at + 4;
    const noBody = this.status < 200 || this.status === 204 || this.status === 304;
    const length = headerValue(head, "content-length");
    this.chunked = !noBody && /\bchunked\b/.test(headerValue(head, "transfer-encoding") ?? "");
    this.need = noBody ? 0 : length !== undefined ? Number(length) : 0;
    this.untilClose = !noBody && !this.chunked && length === undefined;
    this.close = /\bclose\b/.test(headerValue(head, "connection") ?? "");
    return true;
  }

  finish(result) {
    const done = this.done;
    this.done = undefined;
    if (this.close && this.socket) this.drop();
    done?.(result);
  }

  drop() {
    const socket = this.socket;
    this.socket = undefined;
    this.buf = undefined;
    this.bodyStart = -1;
    socket.removeAllListeners();
    socket.on("error", () => {});
    socket.destroy();
  }

  ended(err) {
    if (!this.socket) return;
    const done = this.done;
    const complete = this.untilClose && this.bodyStart >= 0;
    this.drop();
    if (!done) return;
    this.done = undefined;
    done(complete ? this.status : (err?.code ?? "ECONNRESET"));
  }
}

/** Value of a header in a lower-cased response head, or undefined. */
function headerValue(head, name) {
  const at = head.indexOf(`\r\n${name}:`);
  if (at < 0) return undefined;
  const from = at + name.length + 3;
  const to = head.indexOf("\r\n", from);
  return head.slice(from, to < 0 ? head.length : to).trim();
}

/** Offset just past a complete chunked body starting at `from`, or -1 if it is not complete. */
function chunkedEnd(buf, from) {
  let at = from;
  for (;;) {
    const line = buf.indexOf("\r\n", at);
    if (line < 0) return -1;
    const size = Number.parseInt(buf.latin1Slice(at, line), 16);
    if (!Number.isFinite(size)) return -1;
    if (size === 0) {
      // Last chunk, then optional trailers, then an empty line.
      const end = buf.indexOf(CRLF2, line);
      return end < 0 ? -1 : end + 4;
    }
    at = line + 2 + size + 2;
    if (at > buf.length) return -1;
  }
}

function rawSender(origin, concurrency, body) {
  const url = new URL(origin);
  const port = Number(url.port || 80);
  const tail = ` HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
  const connections = Array.from({ length: concurrency }, () => new RawConnection(url.hostname, port, tail, body));
  return {
    lanes: connections.map((c) => (path, done) => c.send(path, done)),
    close: async () => {
      for (const c of connections) if (c.socket) c.drop();
    },
  };
}

/**
 * Send `total` POSTs (after `warmup` unmeasured ones) with `concurrency` in flight.
 * `pathOf(k)` gives the path of request k; every request carries the same JSON body.
 * Returns sends/s over the measured part, latency percentiles (ms) and the failures.
 * `onMeasure()` is called right before and after the measured part. `client`: `raw` or `undici`.
 */
export async function runLoad({ origin, pathOf, body, total, warmup, concurrency, onMeasure = () => undefined, client = "raw" }) {
  const sender = client === "undici" ? undiciSender(origin, concurrency, body) : rawSender(origin, concurrency, body);
  const statuses = new Map();
  const latencies = new Float64Array(total);
  let failures = 0;

  function phase(count, measured, offset) {
    return new Promise((resolve) => {
      let next = 0;
      let running = Math.min(concurrency, count);
      if (running === 0) return resolve();
      for (let w = 0; w < running; w++) {
        const send = sender.lanes[w];
        let k = 0;
        let t0 = 0;
        const done = (status) => {
          if (measured) {
            latencies[k] = performance.now() - t0;
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            if (typeof status !== "number" || status >= 300) failures++;
          }
          go();
        };
        const go = () => {
          if (next >= count) {
            if (--running === 0) resolve();
            return;
          }
          k = next++;
          t0 = performance.now();
          send(pathOf(offset + k), done);
        };
        go();
      }
    });
  }

  // Warm-up: open the connections and let both JITs settle; not measured.
  if (warmup > 0) await phase(warmup, false, total);
  const before = onMeasure();
  const start = performance.now();
  await phase(total, true, 0);
  const seconds = (performance.now() - start) / 1000;
  const after = onMeasure();
  await sender.close();
  const sorted = latencies.sort();
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  return {
    sendsPerSecond: total / seconds,
    seconds,
    p50: pct(50),
    p99: pct(99),
    failures,
    statuses: Object.fromEntries(statuses),
    /** What `onMeasure` returned before and after the measured part (e.g. server CPU seconds). */
    measured: [before, after],
  };
}
