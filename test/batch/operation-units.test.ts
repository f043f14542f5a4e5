import { expect, it } from "vitest";
import type { Clock } from "../../src/clock.js";
import type { BatchConnector, BatchState } from "../../src/connector/batch.js";
import { ConnectorError } from "../../src/connector/errors.js";
import { cancelOperation } from "../../src/delivery/batch/cancel.js";
import { type OperationDeps, pollUntilDone, readBackoff, submit } from "../../src/delivery/batch/operation.js";
import { CredentialGate } from "../../src/delivery/dispatch/credentials.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import { policiesFor, tenantBucket } from "../../src/delivery/policies.js";
import { defaultRetryPolicy, maxRetryAfterHoldMs } from "../../src/delivery/retry.js";
import { silentLogger } from "../../src/log.js";

/** A clock whose sleeps return at once and are recorded (the waits the code chose). */
function fakeClock(): Clock & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw signal.reason;
      slept.push(ms);
      now += ms;
    },
  };
}

const http = (status: number, extra: Partial<ConstructorParameters<typeof ConnectorError>[0]> = {}) =>
  new ConnectorError({ kind: "http", source: "connector", operation: "startBatch", url: "https://smba.test", status, ...extra });

function deps(connector: Partial<BatchConnector>, clock = fakeClock(), signal = new AbortController().signal): OperationDeps {
  return {
    connector: connector as BatchConnector,
    limiter: new InProcessRateLimiter(),
    policies: policiesFor(0, 1),
    clock,
    credentials: new CredentialGate(clock, silentLogger, { baseMs: 100, capMs: 400, probeTimeoutMs: 5_000 }),
    pollMs: 2_000,
    backoffMs: 500,
    maxBackoffMs: 30_000,
    maxTransient: 8,
    signal,
  };
}

const state = (s: string): BatchState => ({ state: s, statusMap: {}, retryAfterMs: undefined, totalEntriesCount: undefined });

it("readBackoff doubles from backoffMs up to maxBackoffMs, and a Retry-After wins when longer", () => {
  const d = { backoffMs: 500, maxBackoffMs: 30_000 };
  expect([1, 2, 3, 7, 8, 50].map((n) => readBackoff(d, n, undefined))).toEqual([500, 1_000, 2_000, 30_000, 30_000, 30_000]);
  expect(readBackoff(d, 1, 45_000)).toBe(45_000);
  expect(readBackoff(d, 3, 100)).toBe(2_000);
  // A broken or hostile Retry-After waits at most 30 minutes.
  expect(readBackoff(d, 1, 10 * 3_600_000)).toBe(maxRetryAfterHoldMs);
});

it("a submit answered 502 or 504 is in doubt at once (no second request); a 503 is retried", async () => {
  for (const status of [502, 504]) {
    let calls = 0;
    const d = deps({
      startBatch: async () => {
        calls++;
        throw http(status, { code: "BadGateway" });
      },
    });
    const r = await submit(d, "https://smba.test", "users", "t1", { type: "message", text: "x" }, ["29:a"], "k");
    expect(r.kind).toBe("inDoubt");
    expect(calls).toBe(1);
  }
  let calls = 0;
  const d = deps({
    startBatch: async () => {
      if (++calls < 3) throw http(503);
      return "op-1";
    },
  });
  expect(await submit(d, "https://smba.test", "users", "t1", { type: "message", text: "x" }, ["29:a"], "k")).toEqual({
    kind: "started",
    operationId: "op-1",
  });
});

it("a token failure on submit pauses the credential gate and tries again after it, instead of failing", async () => {
  let calls = 0;
  const clock = fakeClock();
  const d = deps(
    {
      startBatch: async () => {
        if (++calls <= 3)
          throw new ConnectorError({ kind: "http", source: "token", operation: "getToken", url: "https://login.test", status: 401 });
        return "op-2";
      },
    },
    clock,
  );
  const r = await submit(d, "https://smba.test", "users", "t1", { type: "message", text: "x" }, ["29:a"], "k");
  expect(r).toEqual({ kind: "started", operationId: "op-2" });
  expect(calls).toBe(4);
  // It waited the gate's backoff (100, 200, 400 ms) between the tries.
  expect(clock.slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(700);
  expect(d.credentials.state().ok).toBe(true);
});

it("a submit still waiting when Herald stops never sent anything: notSent (the rows go back to the queue)", async () => {
  const ac = new AbortController();
  ac.abort(new Error("stopping"));
  const d = deps({ startBatch: async () => "never" }, fakeClock(), ac.signal);
  expect(await submit(d, "https://smba.test", "users", "t1", { type: "message", text: "x" }, ["29:a"], "k")).toEqual({ kind: "notSent" });
});

it("polls that fail many times in a row are asked again with backoff honouring Retry-After, until the operation ends", async () => {
  let calls = 0;
  const clock = fakeClock();
  const d = deps(
    {
      getBatchState: async () => {
        calls++;
        if (calls <= 12) throw http(503, { retryAfterMs: calls === 5 ? 60_000 : undefined });
        return state("Completed");
      },
    },
    clock,
  );
  const s = await pollUntilDone(d, "https://smba.test", "t1", "op", (x) => x === "InProgress");
  expect(s?.state).toBe("Completed");
  expect(calls).toBe(13);
  expect(clock.slept).toContain(60_000);
  expect(Math.max(...clock.slept.filter((ms) => ms !== 60_000))).toBe(30_000);
});

it("a submit answered 429 waits its Retry-After, at most 30 minutes: a 10-hour one cannot stop the tenant longer", async () => {
  const clock = fakeClock();
  let calls = 0;
  const d = deps(
    {
      startBatch: async () => {
        if (++calls === 1) throw http(429, { code: "Throttled", retryAfterMs: 10 * 3_600_000 });
        return "op-1";
      },
    },
    clock,
  );
  expect(await submit(d, "https://smba.test", "users", "t1", { type: "message", text: "x" }, ["29:a"], "k")).toEqual({
    kind: "started",
    operationId: "op-1",
  });
  const waited = clock.slept.reduce((a, b) => a + b, 0);
  expect(waited).toBeGreaterThanOrEqual(maxRetryAfterHoldMs);
  expect(waited).toBeLessThan(maxRetryAfterHoldMs + 60_000);
});

it("a poll answered 'running' with a 10-hour Retry-After asks again within 30 minutes", async () => {
  let calls = 0;
  const clock = fakeClock();
  const d = deps(
    {
      getBatchState: async () => (++calls === 1 ? { ...state("InProgress"), retryAfterMs: 10 * 3_600_000 } : state("Completed")),
    },
    clock,
  );
  expect((await pollUntilDone(d, "https://smba.test", "t1", "op", (x) => x === "InProgress"))?.state).toBe("Completed");
  expect(Math.max(...clock.slept)).toBe(maxRetryAfterHoldMs);
});

it("a cancel answered 429 on its last try still holds the tenant for the Retry-After", async () => {
  const clock = fakeClock();
  let calls = 0;
  const d = deps(
    {
      cancelBatch: async () => {
        calls++;
        throw http(429, { code: "Throttled", retryAfterMs: 5_000 });
      },
    },
    clock,
  );
  expect(await cancelOperation(d, "https://smba.test", "t1", "op-1")).toBe(false);
  expect(calls).toBe(4);
  // The last 429's 5 s are still ahead: the tenant's next call waits them out.
  expect(await d.limiter.tryAcquire([tenantBucket(policiesFor(50, 1), "t1")], clock.now())).toBeGreaterThan(4_000);
});

it("the longest Retry-After hold is the engine's default retry time bound", () => {
  expect(maxRetryAfterHoldMs).toBe(defaultRetryPolicy.maxTotalMs);
});
