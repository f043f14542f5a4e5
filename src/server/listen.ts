import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

/** A running HTTP listener (the Node edge around a fetch handler). */
export interface Listener {
  /** Base URL, e.g. `http://127.0.0.1:3978`. */
  url: string;
  port: number;
  /** Stop accepting connections and close idle keep-alive sockets; resolves when closed. */
  close(): Promise<void>;
}

/** Listen on host:port (0 = any free port) and serve `fetch`. */
export function listen(fetch: (req: Request) => Response | Promise<Response>, port: number, host: string): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, port, hostname: host }, (info: AddressInfo) => {
      const shownHost = info.family === "IPv6" ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${shownHost}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          }),
      });
    });
    server.once("error", reject);
    // Keep-alive longer than common client pools' idle timeouts, so clients do not race a closing socket.
    (server as unknown as { keepAliveTimeout: number }).keepAliveTimeout = 65_000;
  });
}
