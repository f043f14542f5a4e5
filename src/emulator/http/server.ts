import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { sendJsonText } from "./io.js";
import { type Call, type Router, splitPath } from "./router.js";

const EMPTY = Buffer.alloc(0);
const notFoundBody = JSON.stringify({ error: { code: "NotFound", message: "No such route on the Teams emulator." } });
const notAllowedBody = JSON.stringify({ error: { code: "MethodNotAllowed", message: "This route does not take that method." } });
const tooLargeBody = JSON.stringify({ error: { code: "RequestEntityTooLarge", message: "The request body is too large." } });
const internalBody = JSON.stringify({ error: { code: "InternalError", message: "The emulator failed on this request; see its log." } });

/**
 * The emulator's listener on raw node:http: route, read the whole body (bounded), run the
 * handler. No framework on the hot path: one split of the path, one Buffer per body.
 */
export function createEmulatorServer(router: Router, options: { maxBodyBytes: number; onError: (err: unknown) => void }): Server {
  const server = createServer({ keepAlive: true, noDelay: true, keepAliveTimeout: 65_000 }, (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q >= 0 ? url.slice(0, q) : url;
    const query = q >= 0 ? url.slice(q + 1) : "";
    const method = req.method ?? "GET";
    const segments = splitPath(path);
    const match = router.match(method, segments);
    if (!match) {
      const status = router.hasPath(segments) ? 405 : 404;
      sendJsonText(res, status, status === 405 ? notAllowedBody : notFoundBody);
      return;
    }
    readBody(req, res, options.maxBodyBytes, (body) => {
      const call: Call = { method, path, query, params: match.params, body, req, res, answerFault: undefined };
      try {
        const done = match.handler(call);
        if (done) done.catch((err: unknown) => fail(res, err, options.onError));
      } catch (err) {
        fail(res, err, options.onError);
      }
    });
  });
  server.headersTimeout = 60_000;
  server.requestTimeout = 0;
  return server;
}

function fail(res: ServerResponse, err: unknown, onError: (err: unknown) => void): void {
  onError(err);
  sendJsonText(res, 500, internalBody);
}

function readBody(req: IncomingMessage, res: ServerResponse, max: number, done: (body: Buffer) => void): void {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > max) {
    sendJsonText(res, 413, tooLargeBody, { connection: "close" });
    req.destroy();
    return;
  }
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  let refused = false;
  req.on("data", (chunk: Buffer) => {
    if (refused) return;
    size += chunk.length;
    if (size > max) {
      refused = true;
      sendJsonText(res, 413, tooLargeBody, { connection: "close" });
      req.destroy();
      return;
    }
    if (!first) first = chunk;
    else {
      if (!chunks) chunks = [first];
      chunks.push(chunk);
    }
  });
  req.on("end", () => {
    if (refused) return;
    done(chunks ? Buffer.concat(chunks, size) : (first ?? EMPTY));
  });
}
