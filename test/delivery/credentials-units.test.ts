import { describe, expect, it } from "vitest";
import { ConnectorError } from "../../src/connector/errors.js";
import { CredentialGate, credentialDelay, defaultCredentialBackoff, isCredentialFailure } from "../../src/delivery/dispatch/credentials.js";
import { createLogger, silentLogger } from "../../src/log.js";

const tokenError = (status: number, retryAfterMs?: number) =>
  new ConnectorError({
    kind: "http",
    source: "token",
    operation: "getToken",
    url: "https://login/x",
    status,
    code: "invalid_client",
    retryAfterMs,
  });
const connectorError = (status: number) =>
  new ConnectorError({ kind: "http", source: "connector", operation: "sendToConversation", url: "https://smba/", status });

describe("credential failures", () => {
  it("token endpoint failures of any kind and Connector 401s are credential problems; other Connector answers are not", () => {
    expect(isCredentialFailure(tokenError(401))).toBe(true);
    expect(isCredentialFailure(tokenError(429))).toBe(true);
    expect(isCredentialFailure(tokenError(503))).toBe(true);
    expect(isCredentialFailure(new ConnectorError({ kind: "timeout", source: "token", operation: "getToken", url: "u" }))).toBe(true);
    expect(isCredentialFailure(connectorError(401))).toBe(true);
    expect(isCredentialFailure(connectorError(403))).toBe(false);
    expect(isCredentialFailure(connectorError(503))).toBe(false);
    expect(isCredentialFailure(new ConnectorError({ kind: "aborted", source: "token", operation: "getToken", url: "u" }))).toBe(false);
    expect(isCredentialFailure(new Error("x"))).toBe(false);
  });

  it("backs off 1 s, 2 s, 4 s … capped at 5 min, never shorter than Retry-After", () => {
    const d = (n: number, ra?: number) => credentialDelay(n, ra, defaultCredentialBackoff);
    expect([1, 2, 3, 4, 9, 10, 40].map((n) => d(n))).toEqual([1_000, 2_000, 4_000, 8_000, 256_000, 300_000, 300_000]);
    expect(d(1, 30_000)).toBe(30_000);
  });

  it("pauses at the first failure, lets one probe through when the wait ends, resumes on an answer", () => {
    let now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    expect(gate.enter(now)).toBe(true);
    gate.failed(tokenError(401));
    // Requests in flight when it paused fail the same way: one step of backoff, not many.
    gate.failed(tokenError(401));
    expect(gate.state()).toMatchObject({ ok: false, failures: 1, code: "HERALD_E_TOKEN" });
    expect(gate.enter(now + 500)).toBe(false);
    expect(gate.waitMs(now + 500)).toBe(500);
    now += 1_000;
    expect(gate.enter(now)).toBe(true);
    expect(gate.enter(now)).toBe(false); // one probe at a time
    gate.failed(tokenError(401));
    expect(gate.state().failures).toBe(2);
    expect(gate.waitMs(now)).toBe(2_000);
    now += 2_000;
    expect(gate.enter(now)).toBe(true);
    gate.succeeded();
    expect(gate.state()).toEqual({ ok: true, failures: 0 });
    expect(gate.enter(now)).toBe(true);
  });

  it("logs one line when sending pauses, one when the reason changes, one when it resumes: not one per row or probe", () => {
    let now = 1_000_000;
    const lines: { level: number; msg: string }[] = [];
    const logger = createLogger("info", { write: (l: string) => lines.push(JSON.parse(l) as { level: number; msg: string }) });
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, logger);
    for (let i = 0; i < 5; i++) {
      gate.failed(tokenError(401)); // the pause, then requests that were in flight
    }
    for (let probe = 0; probe < 4; probe++) {
      now += 400_000;
      expect(gate.enter(now)).toBe(true);
      gate.failed(tokenError(probe < 2 ? 401 : 429));
    }
    gate.succeeded();
    gate.succeeded();
    expect(lines.map((l) => l.msg)).toEqual([
      "the bot's credentials fail: sending is paused (rows wait, none fail) and retried with backoff",
      "the bot's credentials still fail, for another reason: sending stays paused",
      "the bot's credentials work again: sending resumes",
    ]);
  });
});
