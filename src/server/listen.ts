import { maxHeaderSize, Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { serve } from "@hono/node-server";

/** A running HTTP listener (the Node edge around a fetch handler). */
export interface Listener {
  /** Base URL, e.g. `http://127.0.0.1:3978`. */
  url: string;
  port: number;
  /**
   * Stop accepting connections, close idle keep-alive sockets, let requests in flight finish
   * (their answers carry `Connection: close`, so their sockets close too); resolves when closed.
   */
  close(): Promise<void>;
}

/** Listen on host:port (0 = any free port) and serve `fetch`. */
export function listen(fetch: (req: Request) => Response | Promise<Response>, port: number, host: string): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const inFlight = new Set<ServerResponse>();
    let closing = false;
    const server = serve({ fetch, port, hostname: host }, (info: AddressInfo) => {
      const shownHost = info.family === "IPv6" ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${shownHost}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            closing = true;
            server.close(() => done());
            // Without this, a keep-alive socket whose request was in flight at close() stays open
            // for keepAliveTimeout (65 s) and close() waits that long.
            for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
            if (server instanceof Server) server.closeIdleConnections();
          }),
      });
    });
    server.once("error", reject);
    if (server instanceof Server) {
      server.on("request", (_req, res: ServerResponse) => {
        if (closing && !res.headersSent) res.setHeader("connection", "close");
        inFlight.add(res);
        res.once("close", () => inFlight.delete(res));
      });
      // Keep-alive longer than common client pools' idle timeouts, so clients do not race a closing socket.
      server.keepAliveTimeout = 65_000;
      server.on("clientError", answerClientError);
    }
  });
}

/** Node's own answers to requests it cannot parse, with Herald's error body (see answerClientError). */
const clientErrors: Record<string, { status: number; reason: string; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: "Request Header Fields Too Large",
    code: "HERALD_E_HEADERS_TOO_LARGE",
    message: `The request line and headers are over ${Math.round(maxHeaderSize / 1024)} KB (a long URL?); send long lists in a JSON body instead.`,
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    status: 413,
    reason: "Payload Too Large",
    code: "HERALD_E_CHUNK_EXTENSIONS_TOO_LARGE",
    message: "The body's chunk extensions are too large; send the body without them.",
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: "Request Timeout",
    code: "HERALD_E_REQUEST_TIMEOUT",
    message: "The request did not arrive in time; send it again.",
  },
};

/**
 * A request Node cannot parse (headers over maxHeaderSize, 16 KB by default; a malformed request
 * line; a request that arrives too slowly) is answered before any route sees it; by default Node
 * sends a bare status line with no body. Here it gets `{error: {code, message}}` as every other
 * Herald error does.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // As Node's own handler: nothing is written into a response already under way on this socket
  // (a malformed second request pipelined behind one being answered); the socket just closes.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === "ECONNRESET" || !socket.writable || current?.headersSent === true) {
    socket.destroy();
    return;
  }
  const known = clientErrors[err.code ?? ""] ?? {
    status: 400,
    reason: "Bad Request",
    code: "HERALD_E_BAD_REQUEST",
    message: "The request is not valid HTTP/1.1 and could not be read.",
  };
  const body = JSON.stringify({ error: { code: known.code, message: known.message } });
  // Closed once written (a client that keeps its half open must not hold a server's close()).
  socket.end(
    `HTTP/1.1 ${known.status} ${known.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
  setTimeout(() => socket.destroy(), 1_000).unref();
}
