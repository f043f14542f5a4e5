import { Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
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
    }
  });
}
