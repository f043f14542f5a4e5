import net from "node:net";

/**
 * A TCP proxy on loopback in front of a real server (the test database), whose link a test can
 * break: `freeze()` drops every byte both ways while the sockets stay open (a server or network
 * that went away without a reset), `cut()` destroys every connection (a reset). New connections
 * made after `thaw()` pass again. `throttle(n)` lets the server's bytes through at n per second (a
 * slow link).
 */
export interface TcpProxy {
  readonly port: number;
  /** Bytes from the client that reached the proxy while frozen (dropped): a request that was sent. */
  readonly droppedFromClient: number;
  freeze(): void;
  /** Server-to-client bytes per second from now on (0: no limit). */
  throttle(bytesPerSecond: number): void;
  thaw(): void;
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  let dropped = 0;
  let rate = 0;
  const timers = new Set<NodeJS.Timeout>();
  /** Write `d` to `to` at `rate` bytes a second, in 50 ms slices, after what is queued on that socket. */
  const slowWrites = new WeakMap<net.Socket, Promise<void>>();
  const throttled = (to: net.Socket, d: Buffer) => {
    const prior = slowWrites.get(to) ?? Promise.resolve();
    const done = prior.then(async () => {
      for (let at = 0; at < d.length && !to.destroyed; ) {
        const n = Math.max(1, Math.floor(rate / 20));
        to.write(d.subarray(at, at + n));
        at += n;
        await new Promise<void>((r) => {
          const t = setTimeout(() => {
            timers.delete(t);
            r();
          }, 50);
          timers.add(t);
        });
      }
    });
    slowWrites.set(to, done);
  };
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
      if (frozen) return;
      if (rate > 0) throttled(client, d);
      else client.write(d);
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
    throttle: (bytesPerSecond) => {
      rate = bytesPerSecond;
    },
    thaw: () => {
      frozen = false;
    },
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `url` (a database URL) with its host and port those of `proxy`. */
export function viaProxy(url: string, proxy: TcpProxy): string {
  const u = new URL(url);
  u.hostname = "127.0.0.1";
  u.port = String(proxy.port);
  return u.toString();
}
