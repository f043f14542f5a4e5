import { Hono } from "hono";
import type { TrustedHosts } from "../config/trusted-hosts.js";
import { errorResponse, readJson } from "../http/errors.js";
import { type Logger, sanitize } from "../log.js";
import { parseActivity } from "./activity.js";
import type { ActivityHandler } from "./handler.js";

/** Verifies the Connector's JWT (src/inbound/auth). */
export interface InboundVerifier {
  verify(
    authorization: string | undefined,
    activity: { serviceUrl: string; channelId: string },
  ): Promise<{ ok: true } | { ok: false; status: 401 | 403; code: string; reason: string }>;
}

export interface BotEndpointDeps {
  /** undefined = HERALD_INBOUND_AUTH=off (loopback emulators only). */
  verifier: InboundVerifier | undefined;
  trusted: TrustedHosts;
  handler: ActivityHandler;
  logger: Logger;
  /** Largest accepted activity in bytes. Teams caps messages near 28 KB and cards/invokes stay well under 256 KB. */
  maxBodyBytes?: number;
  /** Counts inbound activities by type and auth result (metrics). */
  onActivity?: (type: string, result: "ok" | "rejected" | "invalid" | "ignored") => void;
}

/** Activity types Teams sends; anything else is counted as `other` so metric labels stay bounded. */
const knownTypes = new Set([
  "message",
  "conversationUpdate",
  "installationUpdate",
  "invoke",
  "event",
  "messageReaction",
  "messageUpdate",
  "messageDelete",
  "typing",
]);
const typeLabel = (type: string) => (knownTypes.has(type) ? type : "other");

/**
 * `POST /api/messages`: check size and shape, verify the token (all six checks), refuse an
 * untrusted serviceUrl, then hand the activity to the handler. Nothing is stored from a
 * rejected request.
 */
export function botEndpoint(deps: BotEndpointDeps): Hono {
  const app = new Hono();
  const maxBytes = deps.maxBodyBytes ?? 256 * 1024;
  app.post("/api/messages", async (c) => {
    const body = await readJson(c.req.raw, maxBytes);
    if (!body.ok) {
      deps.onActivity?.("unknown", "invalid");
      return errorResponse(c, body.status, body.code, body.message);
    }
    const parsed = parseActivity(body.value);
    if (!parsed.ok) {
      deps.onActivity?.("unknown", "invalid");
      return errorResponse(c, 400, "HERALD_E_INVALID_ACTIVITY", `The activity is invalid: ${parsed.reason}.`);
    }
    const activity = parsed.activity;
    if (deps.verifier) {
      const result = await deps.verifier.verify(c.req.header("authorization"), activity);
      if (!result.ok) {
        deps.onActivity?.(typeLabel(activity.type), "rejected");
        deps.logger.warn(
          { code: result.code, reason: sanitize(result.reason), serviceUrl: sanitize(activity.serviceUrl) },
          "inbound activity rejected",
        );
        return errorResponse(c, result.status, result.code, result.reason);
      }
    }
    if (!deps.trusted(activity.serviceUrl)) {
      deps.onActivity?.(typeLabel(activity.type), "rejected");
      deps.logger.warn({ serviceUrl: sanitize(activity.serviceUrl), type: sanitize(activity.type) }, "untrusted serviceUrl refused");
      return errorResponse(
        c,
        403,
        "HERALD_E_UNTRUSTED_SERVICE_URL",
        "The activity's serviceUrl is not a trusted Connector host for the configured cloud. Add it to HERALD_TRUSTED_HOSTS if it is yours (e.g. a local emulator).",
      );
    }
    // Another channel than Teams, or no tenant: answered 200 so the sender does not retry, nothing kept.
    const result = await deps.handler.handle(activity);
    deps.onActivity?.(typeLabel(activity.type), result.outOfScope ? "ignored" : "ok");
    return result.body === undefined ? c.body(null, 200) : c.json(result.body as object, 200);
  });
  return app;
}
