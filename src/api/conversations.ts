import { Hono } from "hono";
import { z } from "zod";
import { conversationKinds, conversationStatuses } from "../domain/conversation.js";
import { errorResponse } from "../http/errors.js";
import type { Store } from "../store/ports.js";
import { type ApiEnv, type ApiKeyVerifier, mayUseTenant, requireScope } from "./auth.js";
import { queryError } from "./validation.js";

export const conversationQuerySchema = z.strictObject({
  kind: z.enum(conversationKinds as [string, ...string[]]).optional(),
  tenantId: z.string().min(1).max(200).optional(),
  status: z.enum(conversationStatuses as [string, ...string[]]).optional(),
  teamId: z.string().min(1).max(400).optional(),
  cursor: z.string().min(1).max(2000).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** `GET /v1/conversations`: the stored references, filtered and cursor-paged. */
export function conversationRoutes(store: Store, keys: ApiKeyVerifier): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get("/v1/conversations", requireScope(keys, "read"), async (c) => {
    const q = conversationQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    const principal = c.get("principal");
    if (principal.tenants && !q.data.tenantId) {
      return errorResponse(c, 400, "HERALD_E_TENANT_REQUIRED", "This API key is limited to some tenants: pass tenantId.");
    }
    if (!mayUseTenant(principal, q.data.tenantId)) {
      return errorResponse(c, 403, "HERALD_E_FORBIDDEN", "This API key may not read that tenant.");
    }
    const { cursor, limit, ...filter } = q.data;
    try {
      const page = await store.conversations.list(filter as Parameters<Store["conversations"]["list"]>[0], { cursor, limit: limit ?? 100 });
      return c.json({ items: page.items, nextCursor: page.nextCursor ?? null });
    } catch (e) {
      if ((e as { code?: string }).code === "HERALD_E_BAD_CURSOR")
        return errorResponse(c, 400, "HERALD_E_BAD_CURSOR", "cursor: not a cursor this server issued; start again without it.");
      throw e;
    }
  });
  return app;
}
