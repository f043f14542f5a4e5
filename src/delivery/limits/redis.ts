import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { type Clock, systemClock } from "../../clock.js";
import { type GcraOptions, PolicyCompiler, toUs, waitMs } from "./policy.js";
import { assertDistinctKeys, type BucketKey, type RateLimiter, slotsIn } from "./rate-limiter.js";

/**
 * The time every script decides with: Redis's own clock (`TIME`), so that Herald processes whose
 * clocks disagree still share one timeline; or, for simulations only (`time: "caller"`), the
 * `now` the caller passed (ARGV[1] ≥ 0). Redis 5+ replicates a script's effects, so TIME before
 * a write is allowed.
 */
const NOW_LUA = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
`;

/**
 * Same algorithm as InProcessRateLimiter (GCRA per window, integer µs; ticks for grouped windows),
 * in one Lua script so that checking every bucket and taking its slots is atomic across Herald
 * processes.
 *
 * KEYS: per bucket, its block key then one key per window. ARGV: now µs (-1: Redis TIME), TTL
 * slack ms, bucket count, then per bucket its window count and, per window, interval µs,
 * tolerance µs, group, open µs and the slots taken. A window's key holds its TAT, or for a
 * grouped window `TAT:opened:left` (its open tick). Numbers are doubles in Lua: exact for integers
 * below 2^53 (µs since 1970 until the year 2255); they are written with %.0f because tostring()
 * would round them to 14 digits.
 */
const ACQUIRE_LUA = `${NOW_LUA}
local slack = tonumber(ARGV[2])
local buckets = tonumber(ARGV[3])
local k, a = 1, 4
local wait = 0
local updates = {}
local ticks = {}
for b = 1, buckets do
  local blocked = tonumber(redis.call('GET', KEYS[k]) or '0')
  if blocked > now and blocked - now > wait then wait = blocked - now end
  k = k + 1
  local windows = tonumber(ARGV[a])
  a = a + 1
  for w = 1, windows do
    local interval, tolerance = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    local group, open, slots = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4])
    a = a + 5
    local value = redis.call('GET', KEYS[k]) or '0'
    local t, o, l = string.match(value, '^(%d+):(%d+):(%d+)$')
    local tat, opened, left
    if t then tat, opened, left = tonumber(t), tonumber(o), tonumber(l) else tat, opened, left = tonumber(value), -1, 0 end
    if group > 1 and left >= slots and opened >= 0 and now >= opened and now - opened <= open then
      ticks[#ticks + 1] = { opened + open, tat - tolerance - now }
      updates[#updates + 1] = { KEYS[k], string.format('%.0f:%.0f:%.0f', tat, opened, left - slots), tat }
    else
      local w0 = tat - tolerance - now
      -- A tick on a key last taken one by one (a process with another HERALD_TENANT_TICK: the key
      -- names the window, not its group): its requests leave at once, so it waits as that many
      -- requests one by one would (interval / group each), or it would follow a second of them
      -- with a whole tick more than the window holds.
      if group > 1 and not t and tat > 0 then w0 = tat + (group - 1) * math.ceil(interval / group) - tolerance - now end
      if tat < now then tat = now end
      if group == 1 and slots > 1 then w0 = tat + (slots - 1) * interval - tolerance - now end
      if w0 > wait then wait = w0 end
      if group > 1 then
        tat = tat + interval
        updates[#updates + 1] = { KEYS[k], string.format('%.0f:%.0f:%.0f', tat, now, group - slots), tat }
      else
        tat = tat + slots * interval
        updates[#updates + 1] = { KEYS[k], string.format('%.0f', tat), tat }
      end
    end
    k = k + 1
  end
end
-- tickWait (policy.ts): an open tick that will have closed when the caller comes back no longer counts.
local changed = wait > 0
while changed do
  changed = false
  local back = now + math.ceil(wait / 1000) * 1000
  for i = 1, #ticks do
    local t = ticks[i]
    if t and back > t[1] then
      if t[2] > wait then wait = t[2] end
      ticks[i] = false
      changed = true
    end
  end
end
if wait > 0 then return wait end
for i = 1, #updates do
  local u = updates[i]
  redis.call('SET', u[1], u[2], 'PX', math.max(1, math.ceil((u[3] - now) / 1000) + slack))
end
return 0
`;

/**
 * KEYS[1] block key. ARGV: now µs (-1: Redis TIME), TTL ms, how long to block µs. Never shortens
 * a longer block.
 */
const BLOCK_LUA = `${NOW_LUA}
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local untilUs = now + tonumber(ARGV[3])
if untilUs > current then
  redis.call('SET', KEYS[1], string.format('%.0f', untilUs), 'PX', tonumber(ARGV[2]))
end
return 0
`;

export interface RedisRateLimiterOptions extends GcraOptions {
  /** A connected ioredis client; the caller owns it (and quits it). Redis Cluster is not supported (the script touches keys of several slots). */
  readonly redis: Redis;
  /** Prefix of every key this limiter writes (default `herald:rl:`). Tests use a unique one each. */
  readonly prefix?: string;
  /**
   * Keys live this many ms beyond the moment their state stops mattering (default 1000): covers
   * clock skew between processes and Redis expiring a key while a process still needs it.
   */
  readonly ttlSlackMs?: number;
  /**
   * The clock of the `now` and `until` callers pass, used only to turn `block(key, until)` into a
   * duration (`until - clock.now()`). Default: system clock.
   */
  readonly clock?: Clock;
  /**
   * Whose clock decides (default `"redis"`): Redis's `TIME`, read inside the scripts, so processes
   * whose clocks disagree still share each bucket exactly; the `now` callers pass is then ignored.
   * `"caller"` uses the `now` passed instead: only for simulations that run hours of traffic in
   * milliseconds (the contract tests), never for processes sharing Redis.
   */
  readonly time?: "redis" | "caller";
}

/**
 * RateLimiter shared by several Herald processes through Redis. Every key expires on its own
 * (TTL = time until its state stops mattering + `ttlSlackMs`), so a broadcast to a million
 * conversations leaves nothing behind.
 */
export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly ttlSlackMs: number;
  private readonly clock: Clock;
  private readonly compiler: PolicyCompiler;
  private readonly callerTime: boolean;

  constructor(options: RedisRateLimiterOptions) {
    this.redis = options.redis;
    this.prefix = options.prefix ?? "herald:rl:";
    this.ttlSlackMs = Math.ceil(options.ttlSlackMs ?? 1_000);
    if (!(this.ttlSlackMs >= 0)) throw new RangeError(`HERALD_E_LIMIT_POLICY: ttlSlackMs must be ≥ 0 (got ${options.ttlSlackMs}).`);
    this.clock = options.clock ?? systemClock;
    this.compiler = new PolicyCompiler(options);
    this.callerTime = options.time === "caller";
  }

  async tryAcquire(keys: readonly BucketKey[], now: number): Promise<number> {
    assertDistinctKeys(keys);
    const redisKeys: string[] = [];
    const args: (string | number)[] = [this.callerTime ? toUs(now) : -1, this.ttlSlackMs, keys.length];
    for (const bucket of keys) {
      redisKeys.push(this.blockKey(bucket.key));
      const windows = this.compiler.compile(bucket.policy);
      args.push(windows.length);
      for (const w of windows) {
        redisKeys.push(`${this.prefix}w:${w.sig}:${bucket.key}`);
        args.push(w.intervalUs, w.toleranceUs, w.group, w.openUs, slotsIn(bucket, w));
      }
    }
    const waitUs = Number(await this.run(ACQUIRE_LUA, redisKeys, args));
    return waitMs(waitUs);
  }

  async block(key: string, until: number): Promise<void> {
    const now = this.clock.now();
    if (until <= now) return;
    const ttlMs = Math.ceil(until - now) + this.ttlSlackMs;
    await this.run(BLOCK_LUA, [this.blockKey(key)], [this.callerTime ? toUs(now) : -1, ttlMs, toUs(until - now)]);
  }

  private blockKey(key: string): string {
    return `${this.prefix}b:${key}`;
  }

  /** EVALSHA, loading the script on NOSCRIPT (first use, or after a Redis restart or SCRIPT FLUSH). */
  private async run(lua: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const sha = sha1(lua);
    try {
      return await this.redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith("NOSCRIPT")) throw e;
      return await this.redis.eval(lua, keys.length, ...keys, ...args);
    }
  }
}

const shas = new Map<string, string>();
function sha1(lua: string): string {
  let sha = shas.get(lua);
  if (!sha) {
    sha = createHash("sha1").update(lua).digest("hex");
    shas.set(lua, sha);
  }
  return sha;
}
