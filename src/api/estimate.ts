import { Hono } from "hono";
import { z } from "zod";
import { audienceOutsideLimit } from "../delivery/audience/reach.js";
import { resolveAudience } from "../delivery/audience/resolve.js";
import { tenantSpellingProblem } from "../delivery/audience/tenant-spelling.js";
import { audienceSchema, toAudience } from "../delivery/request.js";
import type { RecipientDirectory } from "../delivery/store/port.js";
import { errorResponse, readJson } from "../http/errors.js";
import { type ApiEnv, type ApiKeyVerifier, mayUseTenant, requireScope } from "./auth.js";
import { bodyError } from "./validation.js";

/** `POST /v1/audiences/estimate` body. */
export const estimateRequestSchema = z.strictObject({ audience: audienceSchema });

/** Counting an `all` audience stops here (the answer then says "at least"). */
export const estimateCap = 100_000;

/** What a send to this audience would do now, before anything is written. */
export interface AudienceEstimate {
  /** Recipients a send would try (pending rows); null when Teams must be asked (team rosters). */
  recipients: number | null;
  /** Recipients Herald already knows it would skip: blocked, uninstalled, opted out, unknown ids. */
  skipped: number;
  /** False when the count is a lower bound (cap reached) or unknown. */
  exact: boolean;
  note?: string;
}

/**
 * `POST /v1/audiences/estimate {audience}` (`read` scope): the recipient count of an audience,
 * from the same `resolveAudience` a send uses (so the estimate and the send cannot disagree on
 * explicit lists), without claiming blocked retries or writing anything. `all` counts the stored
 * personal chats; team rosters are read from Teams while sending, so they are not counted.
 */
export function estimateRoutes(
  directory: RecipientDirectory,
  defaultServiceUrl: string,
  keys: ApiKeyVerifier,
  teamInstall = false,
): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.post("/v1/audiences/estimate", requireScope(keys, "read"), async (c) => {
    const body = await readJson(c.req.raw, 2 * 1024 * 1024);
    if (!body.ok) return errorResponse(c, body.status, body.code, body.message);
    const parsed = estimateRequestSchema.safeParse(body.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    const audience = toAudience(parsed.data.audience);
    const principal = c.get("principal");
    const named = "tenantId" in audience ? audience.tenantId : undefined;
    if (principal.tenants && named !== undefined && !mayUseTenant(principal, named))
      return errorResponse(c, 403, "HERALD_E_FORBIDDEN", `This API key may not reach tenant ${named}.`);
    if (principal.tenants && named === undefined && ("all" in audience || "users" in audience))
      return errorResponse(c, 400, "HERALD_E_TENANT_REQUIRED", "This API key is limited to some tenants: name the audience's tenantId.");
    const outside = await audienceOutsideLimit(audience, principal, directory, principal.tenants);
    if (outside !== undefined) return errorResponse(c, 403, "HERALD_E_FORBIDDEN", outside);
    const misspelled = await tenantSpellingProblem(audience, directory);
    if (misspelled !== undefined) return errorResponse(c, 400, "HERALD_E_TENANT_SPELLING", misspelled);
    if ("all" in audience) {
      let n = 0;
      let skipped = 0;
      let after: number | undefined;
      do {
        const page = await directory.personalPage(audience.tenantId, after, 1000);
        for (const r of page.items) r.status === "active" ? n++ : skipped++;
        after = page.items.length > 0 ? page.last : undefined;
      } while (after !== undefined && n + skipped < estimateCap);
      const exact = n + skipped < estimateCap;
      return c.json({ recipients: n, skipped, exact } satisfies AudienceEstimate);
    }
    const resolution = await resolveAudience(
      audience,
      directory,
      undefined,
      defaultServiceUrl,
      undefined,
      principal.tenants,
      undefined,
      teamInstall,
    );
    const pending = resolution.rows.filter((r) => r.status === "pending").length;
    const skipped = resolution.rows.length - pending;
    if (resolution.streaming)
      return c.json({
        recipients: null,
        skipped,
        exact: false,
        note:
          "teams" in audience && audience.deliverTo === "channel"
            ? "Teams named by Entra group id where the bot is missing get the app installed while sending; the count is known once that is done."
            : "Team members are read from Teams' roster while sending; the count is known once it starts.",
      } satisfies AudienceEstimate);
    return c.json({ recipients: pending, skipped, exact: true } satisfies AudienceEstimate);
  });
  return app;
}
