import { type Context, Hono } from "hono";
import { z } from "zod";
import type { DeliveryEngine } from "../delivery/engine.js";
import { messageSchema } from "../delivery/message/schema.js";
import { notificationRequestSchema } from "../delivery/request.js";
import { errorResponse, readJson } from "../http/errors.js";
import { type ApiEnv, type ApiKeyVerifier, requireScope } from "./auth.js";
import { engineError, maxNotificationBodyBytes } from "./notifications.js";
import { bodyError } from "./validation.js";

/**
 * `POST /v1/notifications/test`: one person, now. Exactly one `userId` (a Teams user id or Entra
 * object id, the tester's own), never a list, an audience or a schedule.
 */
export const testSendBodySchema = z.strictObject({
  userId: z
    .string({ error: "is required: the Teams user id (29:...) or Entra object id of the person to send the test to" })
    .min(1, { error: "must not be empty" })
    .max(400, { error: "must be at most 400 characters" }),
  tenantId: z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }).max(200).optional(),
  message: messageSchema,
  data: z.record(z.string(), z.unknown(), { error: "must be a JSON object" }).optional(),
  footer: z.boolean({ error: "must be true or false" }).optional(),
  /** As for `POST /v1/notifications`: the same key (per API key) never sends a second test. */
  idempotencyKey: z
    .string({ error: "must be a string (a unique id per test, e.g. a UUID)" })
    .min(1, { error: "must not be empty" })
    .max(200, { error: "must be at most 200 characters" })
    .optional(),
});

/**
 * "Send a test to myself" (issue 12): the composed message to one person, through the durable
 * engine like any notification, but as a notification of its own (the broadcast's counts and
 * report never include it). Sent `urgent` so quiet hours and the frequency cap do not hold a test
 * the author is waiting for, and without a category (an opt-out must not swallow it). Only keys
 * that may send (or admin): a test reaches a real person without approval, so a draft-only key
 * would otherwise message anyone; such an author checks the preview instead. Within the key's
 * tenants (a limited key names the tenant). An `idempotencyKey` makes a repeated request (a double
 * click, a retry after a timeout) answer the first test instead of sending again.
 */
export function testSendRoutes(engine: DeliveryEngine, keys: ApiKeyVerifier): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.post("/v1/notifications/test", requireScope(keys, ["send", "draft"]), async (c: Context<ApiEnv>) => {
    const p = c.get("principal");
    if (!p.scopes.includes("send") && !p.scopes.includes("admin"))
      return errorResponse(
        c,
        403,
        "HERALD_E_FORBIDDEN",
        'A test is a real message sent without approval, so it needs the "send" scope and this key has only "draft": check the message with the preview instead, or ask an admin for a key with "send".',
      );
    const raw = await readJson(c.req.raw, maxNotificationBodyBytes);
    if (!raw.ok) return errorResponse(c, raw.status, raw.code, raw.message);
    const parsed = testSendBodySchema.safeParse(raw.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    const b = parsed.data;
    const request = notificationRequestSchema.safeParse({
      audience: b.tenantId ? { users: [b.userId], tenantId: b.tenantId } : { users: [b.userId] },
      message: b.message,
      ...(b.data ? { data: b.data } : {}),
      ...(b.footer !== undefined ? { footer: b.footer } : {}),
      priority: "urgent",
      ...(b.idempotencyKey !== undefined ? { idempotencyKey: b.idempotencyKey } : {}),
    });
    if (!request.success) return bodyError(c, request.error);
    try {
      const { notification, created } = await engine.submit(request.data, {
        keyId: p.keyId,
        tenants: p.tenants,
        teams: p.teams,
        groups: p.groups,
      });
      if (!created) c.header("Idempotent-Replayed", "true");
      c.set("auditTarget", { target: notification.id, tenants: notification.tenantId ? [notification.tenantId] : undefined });
      c.header("Location", `/v1/notifications/${notification.id}`);
      return c.json({ id: notification.id, status: notification.status, test: true }, 202);
    } catch (e) {
      return engineError(c, e);
    }
  });
  return app;
}
