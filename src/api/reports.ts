import { Hono } from "hono";
import { csvStream } from "../delivery/csv.js";
import type { DeliveryEngine } from "../delivery/engine.js";
import type { BlockedEntry } from "../delivery/model.js";
import { blockedQuerySchema } from "../delivery/request.js";
import { type ApiEnv, type ApiKeyVerifier, requireScope } from "./auth.js";
import { engineError } from "./notifications.js";
import { queryError } from "./validation.js";

export { blockedQuerySchema } from "../delivery/request.js";

/** One conversation of the blocked report. */
export function blockedView(b: BlockedEntry) {
  return {
    conversationId: b.conversationId,
    tenantId: b.tenantId,
    kind: b.kind,
    status: b.status,
    code: b.code ?? null,
    at: b.at ?? null,
    userId: b.userId ?? null,
    userName: b.userName ?? null,
    userAadObjectId: b.userAadObjectId ?? null,
    teamName: b.teamName ?? null,
  };
}

const header = ["conversationId", "tenantId", "kind", "status", "code", "at", "userId", "userName", "userAadObjectId", "teamName"] as const;

/**
 * `GET /v1/reports/blocked?tenantId=&cursor=&limit=&format=csv`: who blocked or uninstalled the
 * bot, when, and the code Teams gave (the `read` scope; tenant-scoped keys see their tenants).
 */
export function reportRoutes(engine: DeliveryEngine, keys: ApiKeyVerifier): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get("/v1/reports/blocked", requireScope(keys, "read"), async (c) => {
    const q = blockedQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    const p = c.get("principal");
    const caller = { keyId: p.keyId, tenants: p.tenants };
    const filter = { tenantId: q.data.tenantId };
    try {
      if (q.data.format === "csv") {
        // Fail before the download starts when the cursor is wrong (a 400, not a cut download).
        await engine.blockedReport(filter, { cursor: q.data.cursor, limit: 1 }, caller);
        const stream = csvStream(
          header,
          (b: BlockedEntry) => {
            const v = blockedView(b);
            return header.map((k) => v[k]);
          },
          (cursor) => engine.blockedReport(filter, { cursor, limit: 1_000 }, caller),
          q.data.cursor,
        );
        return new Response(stream, {
          status: 200,
          headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="blocked.csv"' },
        });
      }
      const page = await engine.blockedReport(filter, { cursor: q.data.cursor, limit: q.data.limit ?? 100 }, caller);
      return c.json({ items: page.items.map(blockedView), nextCursor: page.nextCursor ?? null });
    } catch (e) {
      return engineError(c, e);
    }
  });
  return app;
}
