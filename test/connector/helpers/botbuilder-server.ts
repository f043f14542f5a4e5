import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { RouteHandler, WebRequest, WebResponse, WebServer } from "botbuilder";
import { Hono } from "hono";

/**
 * botbuilder's `WebServer` (channelServiceRoutes.d.ts: get/post/put/del(path, handler)) on Hono,
 * which routes `:param` paths like Express and Restify and, like them, hands handlers decoded
 * params. `req.body` is the parsed JSON (what express.json() / restify's bodyParser give);
 * `res.status/send/end` buffer until `end`, because ChannelServiceRoutes calls `send` before
 * `status` in some handlers (create conversation: send, then status(201), then end).
 */
export function honoWebServer(app: Hono): WebServer {
  const on = (method: string) => (path: string, handler: RouteHandler) => {
    app.on(method, path, async (c) => {
      const text = await c.req.text();
      const req: WebRequest = {
        body: text === "" ? undefined : JSON.parse(text),
        headers: c.req.header(),
        method,
        params: c.req.param(),
        query: c.req.query(),
      };
      return await new Promise<Response>((resolve) => {
        let status = 200;
        let payload: unknown;
        const res: WebResponse = {
          status: (s: number) => {
            status = s;
          },
          send: (b: unknown) => {
            payload = b;
          },
          end: () => {
            const isText = typeof payload === "string";
            const body = payload === undefined ? null : isText ? (payload as string) : JSON.stringify(payload);
            resolve(
              new Response(body, { status, headers: body === null ? {} : { "content-type": isText ? "text/plain" : "application/json" } }),
            );
          },
        };
        // The registered handlers take (req, res, next) and call next() when done.
        (handler as (req: WebRequest, res: WebResponse, next: () => void) => void)(req, res, () => undefined);
      });
    });
  };
  return { get: on("GET"), post: on("POST"), put: on("PUT"), del: on("DELETE") };
}

/** What reached the server before routing: the raw path and the Authorization header. */
export interface RawSeen {
  method: string;
  path: string;
  authorization: string | undefined;
}

/** Serve a Hono app on 127.0.0.1:0, recording every request's raw path first. */
export function serveHono(app: Hono, seen: RawSeen[]): Promise<{ url: string; close(): Promise<void> }> {
  const root = new Hono();
  root.use("*", async (c, next) => {
    const u = new URL(c.req.url);
    seen.push({ method: c.req.method, path: u.pathname + u.search, authorization: c.req.header("authorization") });
    await next();
  });
  root.route("/", app);
  return new Promise((resolve) => {
    const server = serve({ fetch: root.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}
