import { randomUUID } from "node:crypto";
import { afterEach, expect, it } from "vitest";
import { conversationSendPolicy } from "../../src/delivery/limits/policy.js";
import { RedisRateLimiter } from "../../src/delivery/limits/redis.js";
import { connectRedis } from "../../src/delivery/limits/redis-client.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";

/**
 * Herald's Redis client (connectRedis) when Redis stops answering without a reset, through a
 * proxy on loopback that drops every byte: the limiter's call fails after the answer bound
 * instead of waiting for TCP to give up, and calls succeed again once Redis answers.
 */
let proxy: TcpProxy | undefined;
afterEach(async () => {
  await proxy?.close();
});

it("a limiter call to a Redis that stopped answering fails after the answer bound; calls succeed once it answers again", async () => {
  proxy = await startTcpProxy({ host: "127.0.0.1", port: 6379 });
  const errors: string[] = [];
  const redis = await connectRedis(`redis://127.0.0.1:${proxy.port}`, { answerMs: 500, onError: (e) => errors.push(e.message) });
  try {
    const limiter = new RedisRateLimiter({ redis, prefix: `herald-test:linkloss:${randomUUID()}:` });
    const bucket = (i: number) => ({ key: `conv:${i}`, policy: conversationSendPolicy });
    expect(await limiter.tryAcquire([bucket(0)], Date.now())).toBe(0);
    proxy.freeze();
    const started = Date.now();
    await expect(limiter.tryAcquire([bucket(1)], Date.now())).rejects.toThrow(/Command timed out/);
    const took = Date.now() - started;
    expect(proxy.droppedFromClient).toBeGreaterThan(0); // the script was sent, and never answered
    expect(took).toBeGreaterThanOrEqual(450);
    expect(took).toBeLessThan(3_000);
    proxy.thaw();
    // ioredis reconnects (a connection opened while frozen is given up the same way).
    const end = Date.now() + 10_000;
    let answered: number | undefined;
    while (answered === undefined && Date.now() < end) {
      answered = await limiter.tryAcquire([bucket(2)], Date.now()).catch(() => undefined);
      if (answered === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(answered).toBe(0);
    // The dead connection was given up (and its error heard, not printed by ioredis).
    expect(errors.some((m) => /Socket timeout/.test(m))).toBe(true);
  } finally {
    redis.disconnect();
  }
}, 20_000);

it("a command that failed while Redis did not answer is never run later, once it answers again", async () => {
  proxy = await startTcpProxy({ host: "127.0.0.1", port: 6379 });
  const redis = await connectRedis(`redis://127.0.0.1:${proxy.port}`, { answerMs: 300 });
  const key = `herald-test:linkloss:${randomUUID()}`;
  try {
    proxy.freeze();
    // One command out when the link went silent, more while ioredis reconnects: each fails.
    const failures: string[] = [];
    for (let i = 0; i < 4; i++) {
      failures.push(await redis.incr(key).then(String, (e: Error) => e.message));
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(failures.every((m) => !/^\d+$/.test(m))).toBe(true);
    proxy.thaw();
    const end = Date.now() + 10_000;
    let pong = "";
    while (pong !== "PONG" && Date.now() < end) {
      // A command fails at once while disconnected: wait a little, or the loop starves the reconnection.
      pong = await redis.ping().catch(() => "");
      if (pong !== "PONG") await new Promise((r) => setTimeout(r, 50));
    }
    expect(pong).toBe("PONG");
    await new Promise((r) => setTimeout(r, 300));
    expect(await redis.get(key)).toBeNull();
  } finally {
    await redis.del(key).catch(() => 0);
    redis.disconnect();
  }
}, 20_000);
