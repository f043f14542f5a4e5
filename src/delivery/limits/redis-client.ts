import type { Redis } from "ioredis";

/**
 * How long a Redis command may wait for its answer, in milliseconds. The limiter's commands are
 * one small script each, answered in well under a millisecond; a Redis busy for a second or two
 * (a fork for a snapshot of a large instance) stays under it.
 */
export const redisAnswerMs = 5_000;

/**
 * The ioredis client Herald shares its rate limits through (HERALD_REDIS_URL). Loaded only when
 * configured: a single-machine Herald does not pay for the client's memory.
 *
 * A Redis that went away without a reset (a failover, a dropped route) would otherwise hold every
 * command until TCP gives up, about 15 minutes on Linux, and every lane with it: ioredis parks a
 * command that was out when its connection closed until a connection is ready again. So:
 * - `commandTimeout`: a command fails after `answerMs`, wherever it waits; the lanes then try
 *   again shortly, sending nothing unchecked;
 * - `socketTimeout`: a connection with a command out and no data back for `answerMs` is
 *   destroyed, and ioredis reconnects (to the new primary after a failover);
 * - `autoResendUnfulfilledCommands: false` and `enableOfflineQueue: false`: a command is never sent
 *   after it failed (parked at the close, or queued while disconnected, then sent once
 *   reconnected: ioredis does not look whether it timed out meanwhile). Its caller asked again, and
 *   sending it too would take a second slot of the tenant's ceiling for one request (never more
 *   than the ceiling, only less). While disconnected a command fails at once; the lanes try again shortly.
 */
export async function connectRedis(url: string, options: RedisClientOptions = {}): Promise<Redis> {
  const { Redis } = await import("ioredis");
  const answerMs = options.answerMs ?? redisAnswerMs;
  const redis = new Redis(url, {
    lazyConnect: false,
    commandTimeout: answerMs,
    socketTimeout: answerMs,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: false,
  });
  // Without a listener ioredis prints each connection error to stderr unformatted; the commands
  // they fail reach their callers anyway.
  redis.on("error", options.onError ?? (() => {}));
  // Without an offline queue a command fails until the connection is ready: wait for it (a Redis
  // down at start leaves ioredis reconnecting, and the lanes waiting, as later).
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, answerMs);
    redis.once("ready", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  return redis;
}

export interface RedisClientOptions {
  /** How long a command may wait for its answer, in ms (default `redisAnswerMs`). */
  answerMs?: number;
  /** A connection error (ioredis reconnects by itself): for the log. */
  onError?: (e: Error) => void;
}
