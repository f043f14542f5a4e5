import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { it } from "vitest";
import { Agent, request } from "undici";

it("prof", async () => {
  let n = 0;
  const bot = createServer((req, res) => { req.resume(); req.on("end", () => { n++; res.writeHead(200); res.end(); }); });
  await new Promise<void>((r) => bot.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(bot.address() as AddressInfo).port}/api/messages`;
  for (const withSignal of [false, true]) {
    const agent = new Agent({ connections: 16, keepAliveTimeout: 30000 });
    const t = performance.now();
    let next = 0;
    const worker = async () => { while (next < 10000) { next++; const r = await request(url, { method: "POST", dispatcher: agent, body: '{"a":1}', headers: { "content-type": "application/json" }, ...(withSignal ? { signal: AbortSignal.timeout(15000) } : {}) }); await r.body.text(); } };
    await Promise.all(Array.from({ length: 16 }, worker));
    console.log("signal", withSignal, "10000 posts ms", performance.now() - t);
    await agent.close();
  }
  bot.close();
}, 60000);
