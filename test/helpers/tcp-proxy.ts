import net from "node:net";

/**
 * A TCP proxy on loopback in front of a real server (the test database), whose link a test can
 * break: `freeze()` drops every byte both ways while the sockets stay open (a server or network
 * that went away without a reset), `cut()` destroys every connection (a reset). New connections
 * made after `thaw()` pass again.
 */
export interface TcpProxy {
  readonly port: number;
  /** Bytes from the client that reached the proxy while frozen (dropped): a request that was sent. */
  readonly droppedFromClient: number;
  freeze(): void;
  thaw(): void;
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  let dropped = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (d) => {
      if (frozen) dropped += d.length;
      else upstream.write(d);
    });
    upstream.on("data", (d) => {
      if (!frozen) client.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get droppedFromClient() {
      return dropped;
    },
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
    },
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
