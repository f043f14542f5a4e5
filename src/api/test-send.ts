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
});

/**
 * "Send a test to myself" (issue 12): the composed message to one person, through the durable
 * engine like any notification, but as a notification of its own (the broadcast's counts and
 * report never include it). Sent `urgent` so quiet hours and the frequency cap do not hold a test
 * the author is waiting for, and without a category (an opt-out must not swallow it). Allowed to
 * keys that may send or draft (an author checks their draft before submitting it), within the
 * key's tenants.
 */
export function testSendRoutes(engine: DeliveryEngine, keys: ApiKeyVerifier): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.post("/v1/notifications/test", requireScope(keys, ["send", "draft"]), async (c: Context<ApiEnv>) => {
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
    });
    if (!request.success) return bodyError(c, request.error);
    const p = c.get("principal");
    try {
      const { notification } = await engine.submit(request.data, { keyId: p.keyId, tenants: p.tenants });
      c.set("auditTarget", { target: notification.id, tenants: notification.tenantId ? [notification.tenantId] : undefined });
      c.header("Location", `/v1/notifications/${notification.id}`);
      return c.json({ id: notification.id, status: notification.status, test: true }, 202);
    } catch (e) {
      return engineError(c, e);
    }
  });
  return app;
}
