import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { HeraldError, type HeraldLibrary } from "../../src/index.js";

/**
 * The smallest host bot: its own HTTP endpoint hands every activity, with the request's
 * Authorization header, to `herald.handleActivity`, and answers what Herald answers.
 */
export async function hostEndpoint(herald: HeraldLibrary): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const activity: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      herald.handleActivity(activity, req.headers.authorization).then(
        (body) => {
          const text = body === undefined ? "" : JSON.stringify(body);
          res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
          res.end(text);
        },
        (e: unknown) => {
          const status = e instanceof HeraldError ? e.status : 500;
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: { code: (e as { code?: string }).code, message: (e as Error).message } }));
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/messages`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
