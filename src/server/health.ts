import { Hono } from "hono";
import type { CredentialState } from "../delivery/dispatch/credentials.js";
import type { Store } from "../store/ports.js";
import { withinOr } from "../within.js";

/** How long `/readyz` waits for the store, in ms. */
export const readyzBoundMs = 5_000;

/**
 * `GET /healthz`: the process is up. `GET /readyz`: the store answers and migrations are applied
 * (503 otherwise).
 *
 * When sending is paused because the bot's credentials fail (expired secret, throttled token
 * endpoint, Connector 401), `/readyz` still answers 200 but says `degraded: true` with the reason:
 * the API keeps accepting notifications (stored durably, sent once the credentials work) and
 * answering reads, and every Herald process shares the same credentials, so a 503 would make the
 * load balancer drop every instance at once and turn a sending problem into an API outage. Alert
 * on `degraded` or on the metric `herald_delivery_credentials_ok`.
 */
export function healthRoutes(store: Store, credentials?: () => CredentialState, readyBoundMs = readyzBoundMs): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    // Bounded: a database that stopped answering without a reset would hold the probe as long
    // as the query waits (a minute or more before the store gives it up), past any load balancer's probe timeout.
    const ready = await withinOr(store.ready(), readyBoundMs, "late" as const).catch(() => false);
    if (ready !== true)
      return c.json(
        {
          status: "not ready",
          error: {
            code: "HERALD_E_NOT_READY",
            message:
              ready === "late"
                ? `The store did not answer within ${readyBoundMs / 1000} s.`
                : "The store does not answer or migrations are not applied.",
          },
        },
        503,
      );
    const cred = credentials?.();
    if (!cred || cred.ok) return c.json({ status: "ready" });
    return c.json({
      status: "ready",
      degraded: true,
      delivery: {
        state: "paused",
        code: cred.code,
        reason: `${cred.reason ?? "The bot's credentials fail"} Sending is paused (nothing fails; rows wait) and retried with backoff.`,
        since: cred.since,
        retryAt: cred.retryAt,
        failures: cred.failures,
      },
    });
  });
  return app;
}
