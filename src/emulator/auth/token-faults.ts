import { z } from "zod";
import { control, readBody } from "../control/respond.js";
import { sendJson } from "../http/io.js";
import type { Call, Router } from "../http/router.js";

/**
 * Token endpoint faults, switchable at run time through the control API, to exercise what a bot
 * does when Entra refuses it:
 * - `expiredSecret`: 401 `invalid_client` AADSTS7000222 (the client secret expired);
 * - `throttled`: 429 with `Retry-After` (`retryAfterSeconds`, default 1);
 * - `unavailable`: 503;
 * - `invalidToken`: 200 with a token the Connector refuses (401 on every Connector call).
 * `PUT /_emulator/token-faults {mode, retryAfterSeconds?}`, `GET` (with the count of requests
 * refused so far), `DELETE` ends it.
 */
export const tokenFaultModes = ["expiredSecret", "throttled", "unavailable", "invalidToken"] as const;
export type TokenFaultMode = (typeof tokenFaultModes)[number];

const schema = z.strictObject({
  mode: z.enum(tokenFaultModes),
  retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
});

export class TokenFaults {
  mode: TokenFaultMode | undefined;
  retryAfterSeconds = 1;
  /** Token requests answered with the fault. */
  refused = 0;

  get current(): { mode: TokenFaultMode | null; retryAfterSeconds: number; refused: number } {
    return { mode: this.mode ?? null, retryAfterSeconds: this.retryAfterSeconds, refused: this.refused };
  }

  /** Answer a token request with the fault; false when there is none (the request is served normally). */
  answer(call: Call): boolean {
    const mode = this.mode;
    if (!mode) return false;
    this.refused++;
    switch (mode) {
      case "expiredSecret":
        sendJson(call.res, 401, {
          error: "invalid_client",
          error_description: "AADSTS7000222: The provided client secret keys for app are expired.",
          error_codes: [7000222],
        });
        return true;
      case "throttled":
        sendJson(
          call.res,
          429,
          {
            error: "temporarily_unavailable",
            error_description: "AADSTS50196: The server terminated an operation because it encountered a loop.",
          },
          { "retry-after": String(this.retryAfterSeconds) },
        );
        return true;
      case "unavailable":
        sendJson(call.res, 503, { error: "temporarily_unavailable", error_description: "AADSTS90033: A transient error has occurred." });
        return true;
      case "invalidToken":
        sendJson(call.res, 200, { access_token: "not-a-valid-token", token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599 });
        return true;
    }
  }

  /** `GET/PUT/DELETE /_emulator/token-faults`. */
  register(router: Router): void {
    router.add(
      "GET",
      "/_emulator/token-faults",
      control(() => this.current),
    );
    const set = control((call) => {
      const body = readBody(call, schema);
      this.mode = body.mode;
      this.retryAfterSeconds = body.retryAfterSeconds ?? 1;
      return this.current;
    });
    router.add("PUT", "/_emulator/token-faults", set);
    router.add("POST", "/_emulator/token-faults", set);
    router.add(
      "DELETE",
      "/_emulator/token-faults",
      control(() => {
        this.mode = undefined;
        return this.current;
      }),
    );
  }
}
