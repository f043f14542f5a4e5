import { Hono } from "hono";
import { z } from "zod";
import type { DeliveryEngine } from "../delivery/engine.js";
import type { TenantState } from "../delivery/store/port.js";
import { type ApiEnv, type ApiKeyVerifier, requireScope } from "./auth.js";
import { engineError } from "./notifications.js";
import { queryError } from "./validation.js";

export const tenantsQuerySchema = z.strictObject({
  state: z.enum(["active", "disabled"]).optional().describe("Only tenants in this state."),
});

/** One tenant in `GET /v1/tenants`. */
export function tenantView(t: TenantState) {
  return {
    tenantId: t.tenantId,
    state: t.state,
    code: t.code ?? null,
    since: t.since ?? null,
    conversations: t.conversations,
    waiting: t.waiting ?? 0,
  };
}

/**
 * `GET /v1/tenants?state=`: the tenants Herald knows and whether sending to them is paused
 * because their admin disabled the bot (403 BotDisabledByAdmin), since when, with how many rows
 * waiting. `POST /v1/tenants/{id}/resume`: lift the pause once the admin allowed the bot again.
 * Both need the `admin` scope; a key limited to tenants sees and resumes only those.
 */
export function tenantRoutes(engine: DeliveryEngine, keys: ApiKeyVerifier): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const callerOf = (p: { keyId: string; tenants?: readonly string[] | undefined }) => ({ keyId: p.keyId, tenants: p.tenants });

  app.get("/v1/tenants", requireScope(keys, "admin"), async (c) => {
    const q = tenantsQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    try {
      const items = await engine.tenants({ state: q.data.state }, callerOf(c.get("principal")));
      return c.json({ items: items.map(tenantView) });
    } catch (e) {
      return engineError(c, e);
    }
  });

  app.post("/v1/tenants/:id/resume", requireScope(keys, "admin"), async (c) => {
    try {
      const { tenant, resumed } = await engine.resumeTenant(c.req.param("id"), callerOf(c.get("principal")));
      return c.json({ ...tenantView(tenant), resumed });
    } catch (e) {
      return engineError(c, e);
    }
  });

  return app;
}
