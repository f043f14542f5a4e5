import { connect } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Listener, listen } from "../../src/server/listen.js";

/**
 * Requests Node's HTTP parser refuses before any route sees them get Herald's error body
 * (`{error: {code, message}}`), not Node's bare status line.
 */
let listener: Listener;
beforeAll(async () => {
  listener = await listen(() => new Response("ok"), 0, "127.0.0.1");
});
afterAll(async () => {
  await listener?.close();
});

/** Send raw bytes, read everything until the server closes the connection. */
function raw(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(listener.port, "127.0.0.1");
    let out = "";
    socket.on("data", (d) => {
      out += d.toString();
    });
    socket.on("end", () => resolve(out));
    socket.on("error", reject);
    socket.end(bytes);
  });
}

it("a URL over 16 KB: 431 with a JSON error naming what to do", async () => {
  const r = await fetch(`${listener.url}/v1/notifications?ids=${"n_x,".repeat(5_000)}`);
  expect(r.status).toBe(431);
  expect(r.headers.get("content-type")).toBe("application/json");
  expect(await r.json()).toEqual({
    error: {
      code: "HERALD_E_HEADERS_TOO_LARGE",
      message: "The request line and headers are over 16 KB (a long URL?); send long lists in a JSON body instead.",
    },
  });
});

it("a request that is not HTTP: 400 with a JSON error, and the connection closes", async () => {
  const answer = await raw("HELLO THERE\r\n\r\n");
  expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
  expect(answer).toContain("Connection: close");
  const body = answer.slice(answer.indexOf("\r\n\r\n") + 4);
  expect(JSON.parse(body)).toMatchObject({ error: { code: "HERALD_E_BAD_REQUEST" } });
});

it("the server still answers well-formed requests afterwards", async () => {
  const r = await fetch(`${listener.url}/`);
  expect(await r.text()).toBe("ok");
});

it("a malformed request pipelined behind one being answered is not written into that answer", async () => {
  const slow = await listen(
    () =>
      new Response(
        new ReadableStream({
          async start(c) {
            c.enqueue(new TextEncoder().encode("part1-"));
            await new Promise((r) => setTimeout(r, 300));
            c.enqueue(new TextEncoder().encode("part2"));
            c.close();
          },
        }),
      ),
    0,
    "127.0.0.1",
  );
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(slow.port, "127.0.0.1");
      let out = "";
      socket.on("data", (d) => {
        out += d.toString();
        if (out.includes("part1-")) socket.write("HELLO THERE\r\n\r\n");
      });
      socket.on("close", () => resolve(out));
      socket.on("error", reject);
      socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(answer).not.toContain("400 Bad Request");
  } finally {
    await slow.close();
  }
});

it("a client that keeps its half of the connection open after a refused request does not hold the server's close()", async () => {
  const other = await listen(() => new Response("ok"), 0, "127.0.0.1");
  const socket = connect({ port: other.port, host: "127.0.0.1", allowHalfOpen: true });
  socket.on("error", () => undefined);
  const got = new Promise<string>((resolve) => {
    let out = "";
    socket.on("data", (d) => {
      out += d.toString();
    });
    socket.on("end", () => resolve(out));
  });
  socket.write("HELLO THERE\r\n\r\n");
  expect(await got).toContain("HERALD_E_BAD_REQUEST");
  const closed = await Promise.race([other.close().then(() => "closed"), new Promise((r) => setTimeout(() => r("still open"), 3_000))]);
  socket.destroy();
  expect(closed).toBe("closed");
});
