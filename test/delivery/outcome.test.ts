import { describe, expect, it } from "vitest";
import { ConnectorError } from "../../src/connector/errors.js";
import { judge } from "../../src/delivery/dispatch/outcome.js";
import type { Step } from "../../src/delivery/dispatch/steps.js";
import { defaultRetryPolicy } from "../../src/delivery/retry.js";

/** Which failed steps may be repeated: the per-operation table of docs/design/delivery.md, as pure decisions. */
describe("judge: a failure after the request was written", () => {
  const state = { attempt: 1, firstAttemptAt: 0, now: 0 };
  const random = () => 0.5;
  const written = (kind: "reset" | "timeout") =>
    new ConnectorError({
      kind,
      source: "connector",
      operation: "sendToConversation",
      url: "x",
      timeoutPhase: kind === "timeout" ? "headers" : undefined,
    });
  const unwritten = new ConnectorError({
    kind: "reset",
    source: "connector",
    operation: "sendToConversation",
    url: "x",
    mayHaveArrived: false,
  });

  it.each<[Step, string]>([
    ["send", "unknown"],
    ["createThread", "unknown"],
    ["create", "retry"],
    ["edit", "retry"],
    ["delete", "retry"],
  ])("%s under policy unknown → %s", (step, kind) => {
    for (const e of [written("reset"), written("timeout")]) {
      expect(judge(e, state, random, defaultRetryPolicy, { step, inFlightPolicy: "unknown" }).kind).toBe(kind);
    }
  });

  it("keeps the transport error's code on an unknown row", () => {
    const v = judge(written("timeout"), state, random, defaultRetryPolicy, { step: "send", inFlightPolicy: "unknown" });
    expect(v).toMatchObject({ kind: "unknown", error: { code: "network/timeout" } });
  });

  it("retries every step under policy resend, and any step whose request was not written", () => {
    for (const step of ["send", "createThread"] as const) {
      expect(judge(written("reset"), state, random, defaultRetryPolicy, { step, inFlightPolicy: "resend" }).kind).toBe("retry");
      expect(judge(unwritten, state, random, defaultRetryPolicy, { step, inFlightPolicy: "unknown" }).kind).toBe("retry");
    }
  });

  it("an answered failure is the retry table's (a 503 is retried even for a send)", () => {
    const e = new ConnectorError({ kind: "http", status: 503, source: "connector", operation: "sendToConversation", url: "x" });
    expect(judge(e, state, random, defaultRetryPolicy, { step: "send", inFlightPolicy: "unknown" }).kind).toBe("retry");
  });
});
