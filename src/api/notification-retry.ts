import { Hono } from "hono";
import { z } from "zod";
import type { DeliveryEngine } from "../delivery/engine.js";
import { type ApiEnv, type ApiKeyVerifier, requireScope } from "./auth.js";
import { engineError, notificationView } from "./notifications.js";
import { queryError } from "./validation.js";

export const retryQuerySchema = z.strictObject({
  include: z
    .enum(["unknown"])
    .optional()
    .describe(
      "`unknown`: also send again the rows whose send was in flight when a process died (they may have arrived: a duplicate is possible).",
    ),
});

/**
 * `POST /v1/notifications/{id}/retry[?include=unknown]` (the `send` scope): recipients that ended
 * `failed` (an expired secret before this release, a disabled tenant that timed out, a transient
 * error that outlasted its retries) are sent again; the notification is `sending` until they end,
 * then `completed` again. Retrying while they are pending changes nothing more. Refused with 409
 * for a recalled notification. Answers 202 with the notification and `retried`, the rows requeued.
 */
export function retryRoutes(engine: DeliveryEngine, keys: ApiKeyVerifier): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.post("/v1/notifications/:id/retry", requireScope(keys, "send"), async (c) => {
    const q = retryQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    const p = c.get("principal");
    try {
      const { notification, retried } = await engine.retry(
        c.req.param("id"),
        { includeUnknown: q.data.include === "unknown" },
        { keyId: p.keyId, tenants: p.tenants, teams: p.teams, groups: p.groups },
      );
      return c.json({ ...notificationView(notification), retried }, 202);
    } catch (e) {
      return engineError(c, e);
    }
  });
  return app;
}
