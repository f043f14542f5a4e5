import { Agent, request } from "node:http";
import { describe, expect, it } from "vitest";
import { listen } from "../../src/server/listen.js";

describe("listen", () => {
  it("close() resolves promptly when a keep-alive request was in flight, and that request still gets its answer", async () => {
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => {
      entered = r;
    });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    const listener = await listen(
      async () => {
        entered();
        await released;
        return new Response("ok");
      },
      0,
      "127.0.0.1",
    );
    const agent = new Agent({ keepAlive: true });
    const answer = new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const req = request(`${listener.url}/`, { agent }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode, body }));
      });
      req.on("error", reject);
      req.end();
    });
    await inHandler;
    const closed = listener.close();
    release();
    expect(await answer).toEqual({ status: 200, body: "ok" });
    // Before the fix the socket stayed open for keepAliveTimeout (65 s); the deadline is far below that.
    const deadline = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 5_000).unref());
    expect(await Promise.race([closed.then(() => "closed" as const), deadline])).toBe("closed");
    agent.destroy();
  });
});
