/**
 * `ConnectorError.mayHaveArrived` over real sockets: true only when the request had gone onto a
 * connection before it failed (Teams may have acted on it), false when it failed before (a
 * re-send cannot duplicate anything). The delivery engine decides between `unknown` and a retry
 * on this flag, so every case is checked the way undici really reports it.
 */

import type { ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clouds } from "../../src/config/clouds.js";
import { trustedHosts } from "../../src/config/trusted-hosts.js";
import { ConnectorError } from "../../src/connector/errors.js";
import { HttpConnectorClient } from "../../src/connector/http-client.js";
import { createHttpAgent } from "../../src/connector/transport.js";
import { deferred, fakeClock, json, type Seen, startServer, type TestServer, until } from "./helpers/servers.js";

let server: TestServer;
let respond: (req: Seen, res: ServerResponse) => void | Promise<void> = (_req, res) => json(res, 200, { id: "1" });

beforeAll(async () => {
  server = await startServer((req, res) => respond(req, res));
});
afterAll(() => server.close());

function client(http: Parameters<typeof createHttpAgent>[0] = {}) {
  const dispatcher = createHttpAgent({ headersTimeoutMs: 2_000, bodyTimeoutMs: 2_000, ...http });
  const c = new HttpConnectorClient({
    dispatcher,
    tokens: { getToken: async () => "tok" },
    isTrusted: trustedHosts(clouds.public, ["127.0.0.1"]),
    clock: fakeClock(),
  });
  return { c, dispatcher };
}

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ConnectorError);
  return e as ConnectorError;
}

const send = (c: HttpConnectorClient, serviceUrl: string) => c.sendToConversation(serviceUrl, "a:conv", { type: "message", text: "hi" });

/** A TCP server that resets every connection as soon as it arrives (RST, nothing read). */
async function resetting(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const s: Server = createServer((socket) => {
    sockets.add(socket);
    socket.resetAndDestroy();
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return {
    port: (s.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => s.close(() => r())),
  };
}

describe("mayHaveArrived", () => {
  it("is false for a reset during the TLS handshake: the request was never written", async () => {
    const tcp = await resetting();
    const { c, dispatcher } = client();
    try {
      const e = await failure(send(c, `https://127.0.0.1:${tcp.port}/teams/`));
      expect(e.kind).toBe("reset");
      expect(e.mayHaveArrived).toBe(false);
    } finally {
      await dispatcher.close();
      await tcp.close();
    }
  });

  it("is false for a request still queued when the pool is destroyed, true for the one on the wire", async () => {
    const held = deferred();
    respond = async () => held.promise;
    const { c, dispatcher } = client({ connectionsPerOrigin: 1 });
    const before = server.requests.length;
    const onWire = failure(send(c, `${server.url}/teams/`));
    await until(() => server.requests.length > before);
    const queued = failure(send(c, `${server.url}/teams/`));
    // Let the second request reach undici's queue behind the first.
    await new Promise((r) => setImmediate(r));
    await dispatcher.destroy();
    held.resolve();
    respond = (_req, res) => json(res, 200, { id: "1" });
    expect((await onWire).mayHaveArrived).toBe(true);
    expect((await queued).mayHaveArrived).toBe(false);
    expect(server.requests.length).toBe(before + 1);
  });

  it("is true for a connection reset after the request was written (the server read it, then destroyed the socket)", async () => {
    respond = (_req, res) => {
      res.socket?.resetAndDestroy();
    };
    const { c, dispatcher } = client();
    const before = server.requests.length;
    try {
      const e = await failure(send(c, `${server.url}/teams/`));
      expect(e).toMatchObject({ kind: "reset", mayHaveArrived: true });
      // Neither the client nor undici sent it again on its own.
      expect(server.requests.length).toBe(before + 1);
    } finally {
      respond = (_req, res) => json(res, 200, { id: "1" });
      await dispatcher.close();
    }
  });

  it("is true when the answer does not come before the headers timeout", async () => {
    const held = deferred();
    respond = async () => held.promise;
    const { c, dispatcher } = client({ headersTimeoutMs: 150 });
    try {
      const e = await failure(send(c, `${server.url}/teams/`));
      expect(e).toMatchObject({ kind: "timeout", timeoutPhase: "headers", mayHaveArrived: true });
    } finally {
      held.resolve();
      respond = (_req, res) => json(res, 200, { id: "1" });
      await dispatcher.close();
    }
  });

  it("is false for a refused connection", async () => {
    const tcp = await resetting();
    await tcp.close();
    const { c, dispatcher } = client();
    try {
      const e = await failure(send(c, `http://127.0.0.1:${tcp.port}/teams/`));
      expect(e).toMatchObject({ kind: "refused", mayHaveArrived: false });
    } finally {
      await dispatcher.close();
    }
  });
});
