import type { Dispatcher } from "undici";
import { expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { clouds } from "../../src/config/clouds.js";
import { trustedHosts } from "../../src/config/trusted-hosts.js";
import type { ConnectorError } from "../../src/connector/errors.js";
import { HttpConnectorClient } from "../../src/connector/http-client.js";
import { judge } from "../../src/delivery/dispatch/outcome.js";
import { defaultRetryPolicy } from "../../src/delivery/retry.js";

it("a socket ETIMEDOUT after the request was written counts as may-have-arrived", async () => {
  // What undici does when the kernel gives up on an established connection (TCP retransmissions / keepalive):
  // the request went onto the connection (onRequestStart), then the socket errors with ETIMEDOUT.
  const dispatcher = {
    dispatch(_opts: unknown, handler: Dispatcher.DispatchHandler) {
      const controller = {
        abort() {},
        pause() {},
        resume() {},
        aborted: false,
        paused: false,
        reason: null,
      } as unknown as Dispatcher.DispatchController;
      handler.onRequestStart?.(controller, {});
      const err = Object.assign(new Error("read ETIMEDOUT"), { code: "ETIMEDOUT" });
      setImmediate(() => handler.onResponseError?.(controller, err));
      return true;
    },
  } as unknown as Dispatcher;
  const c = new HttpConnectorClient({
    dispatcher,
    tokens: { getToken: async () => "tok" },
    isTrusted: trustedHosts(clouds.public, ["127.0.0.1"]),
    clock: systemClock,
  });
  const e = (await c
    .sendToConversation("http://127.0.0.1:1/teams/", "a:c", { type: "message", text: "hi" })
    .catch((x) => x)) as ConnectorError;
  const v = judge(e, { attempt: 1, firstAttemptAt: 0, now: 0 }, () => 0.5, defaultRetryPolicy, { step: "send", inFlightPolicy: "unknown" });
  expect(e.mayHaveArrived).toBe(true);
  expect(v.kind).toBe("unknown");
});
