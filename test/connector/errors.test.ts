import { errors } from "undici";
import { describe, expect, it } from "vitest";
import { ConnectorError } from "../../src/connector/errors.js";
import { networkFacts } from "../../src/connector/network-error.js";

describe("networkFacts", () => {
  it.each([
    ["connect timeout", new errors.ConnectTimeoutError(), { kind: "timeout", timeoutPhase: "connect" }],
    ["headers timeout", new errors.HeadersTimeoutError(), { kind: "timeout", timeoutPhase: "headers" }],
    ["body timeout", new errors.BodyTimeoutError(), { kind: "timeout", timeoutPhase: "body" }],
    ["other side closed", new errors.SocketError("other side closed"), { kind: "reset" }],
    ["aborted request", new errors.RequestAbortedError(), { kind: "aborted" }],
    ["ECONNRESET", Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), { kind: "reset" }],
    ["ECONNREFUSED", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), { kind: "refused" }],
    ["ENOTFOUND", Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }), { kind: "dns" }],
    ["a cause chain", new Error("fetch failed", { cause: Object.assign(new Error("x"), { code: "ECONNRESET" }) }), { kind: "reset" }],
    ["happy eyeballs", new AggregateError([Object.assign(new Error("a"), { code: "ECONNREFUSED" })]), { kind: "refused" }],
    ["a DOM AbortError", new DOMException("aborted", "AbortError"), { kind: "aborted" }],
    ["anything else", new Error("certificate has expired"), { kind: "network" }],
  ])("%s", (_name, error, expected) => {
    expect(networkFacts(error)).toMatchObject(expected);
  });
});

describe("ConnectorError", () => {
  const base = { source: "connector", operation: "sendToConversation", url: "https://smba.trafficmanager.net/teams/" } as const;

  it.each([
    [{ kind: "http", status: 403 }, "HERALD_E_CONNECTOR_HTTP", true],
    [{ kind: "timeout", timeoutPhase: "headers" }, "HERALD_E_CONNECTOR_TIMEOUT", true],
    [{ kind: "timeout", timeoutPhase: "connect" }, "HERALD_E_CONNECTOR_TIMEOUT", false],
    [{ kind: "reset" }, "HERALD_E_CONNECTOR_NETWORK", true],
    [{ kind: "refused" }, "HERALD_E_CONNECTOR_NETWORK", false],
    [{ kind: "dns" }, "HERALD_E_CONNECTOR_NETWORK", false],
    [{ kind: "untrusted" }, "HERALD_E_UNTRUSTED_SERVICE_URL", false],
    [{ kind: "aborted" }, "HERALD_E_CONNECTOR_ABORTED", false],
    [{ kind: "aborted", mayHaveArrived: true }, "HERALD_E_CONNECTOR_ABORTED", true],
    [{ kind: "invalid-response", status: 200 }, "HERALD_E_CONNECTOR_RESPONSE", true],
    [{ kind: "http", status: 401, source: "token", operation: "getToken" }, "HERALD_E_TOKEN", false],
    [{ kind: "timeout", source: "token", operation: "getToken" }, "HERALD_E_TOKEN", false],
  ] as const)("%j → %s, mayHaveArrived %s", (init, code, arrived) => {
    const e = new ConnectorError({ ...base, ...init });
    expect(e.heraldCode).toBe(code);
    expect(e.mayHaveArrived).toBe(arrived);
    expect(e.name).toBe("ConnectorError");
    expect(e).toBeInstanceOf(Error);
  });

  it("says what happened and what to do next", () => {
    const e = new ConnectorError({
      ...base,
      kind: "http",
      status: 429,
      code: "Throttled",
      serverMessage: "Too many requests.",
      retryAfterMs: 7000,
    });
    expect(e.message).toBe(
      "sendToConversation failed: the Connector at https://smba.trafficmanager.net/teams/ answered 429 Throttled: Too many requests. (Retry-After 7000 ms).",
    );
    expect(new ConnectorError({ ...base, kind: "untrusted", url: "https://evil.example/" }).message).toMatch(/HERALD_TRUSTED_HOSTS/);
    expect(new ConnectorError({ ...base, kind: "timeout", timeoutPhase: "headers" }).message).toMatch(/headers phase/);
  });

  it("keeps the cause", () => {
    const cause = new Error("boom");
    expect(new ConnectorError({ ...base, kind: "network", cause }).cause).toBe(cause);
  });
});
