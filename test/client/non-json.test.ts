import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, HeraldApiError } from "../../src/client/index.js";

/**
 * What stands between a client and Herald (a reverse proxy, a load balancer) answers errors of
 * its own that are not JSON: the client must still throw HeraldApiError with the status.
 */
let server: Server;
let baseUrl: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith("/v1/notifications/n_ok")) {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("not json");
      return;
    }
    res.writeHead(502, { "content-type": "text/html" });
    res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

describe("herald/client and answers that are not JSON", () => {
  it("a proxy's HTML error page becomes HeraldApiError with its status (not a SyntaxError)", async () => {
    const client = createClient({ baseUrl, apiKey: "k" });
    const error = await client.notification("n_1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeraldApiError);
    expect((error as HeraldApiError).status).toBe(502);
    expect((error as HeraldApiError).code).toBe("HERALD_E_HTTP");
  });

  it("a 200 whose body is not JSON is HeraldApiError too, naming the status", async () => {
    const client = createClient({ baseUrl, apiKey: "k" });
    const error = await client.notification("n_ok").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeraldApiError);
    expect((error as HeraldApiError).status).toBe(200);
  });
});
