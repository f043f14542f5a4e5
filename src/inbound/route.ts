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

/** What the bot endpoint answers for one activity: the status and the body (invoke response or error). */
export type ActivityOutcome =
  | { ok: true; status: 200; body: unknown }
  | { ok: false; status: 400 | 401 | 403; code: string; message: string };

/**
 * The bot endpoint's logic for one parsed JSON body, without HTTP: check the shape, verify the
 * token (all six checks) unless the caller says the host bot's SDK already did
 * (`authenticated`), refuse an untrusted serviceUrl, then hand the activity to the handler.
 * Nothing is stored from a rejected activity. Shared by `POST /api/messages` and the library.
 */
export async function receiveActivity(
  deps: BotEndpointDeps,
  value: unknown,
  authorization: string | undefined,
  options: { authenticated?: boolean } = {},
): Promise<ActivityOutcome> {
  const parsed = parseActivity(value);
  if (!parsed.ok) {
    deps.onActivity?.("unknown", "invalid");
    return { ok: false, status: 400, code: "HERALD_E_INVALID_ACTIVITY", message: `The activity is invalid: ${parsed.reason}.` };
  }
  const activity = parsed.activity;
  if (deps.verifier && !options.authenticated) {
    const result = await deps.verifier.verify(authorization, activity);
    if (!result.ok) {
      deps.onActivity?.(typeLabel(activity.type), "rejected");
      deps.logger.warn(
        { code: result.code, reason: sanitize(result.reason), serviceUrl: sanitize(activity.serviceUrl) },
        "inbound activity rejected",
      );
      return { ok: false, status: result.status, code: result.code, message: result.reason };
    }
  }
  if (!deps.trusted(activity.serviceUrl)) {
    deps.onActivity?.(typeLabel(activity.type), "rejected");
    deps.logger.warn({ serviceUrl: sanitize(activity.serviceUrl), type: sanitize(activity.type) }, "untrusted serviceUrl refused");
    return {
      ok: false,
      status: 403,
      code: "HERALD_E_UNTRUSTED_SERVICE_URL",
      message:
        "The activity's serviceUrl is not a trusted Connector host for the configured cloud. Add it to HERALD_TRUSTED_HOSTS if it is yours (e.g. a local emulator).",
    };
  }
  // Another channel than Teams, or no tenant: answered 200 so the sender does not retry, nothing kept.
  const result = await deps.handler.handle(activity);
  deps.onActivity?.(typeLabel(activity.type), result.outOfScope ? "ignored" : "ok");
  return { ok: true, status: 200, body: result.body };
}

/**
 * `POST /api/messages`: check size and shape, verify the token (all six checks), refuse an
 * untrusted serviceUrl, then hand the activity to the handler (receiveActivity). Nothing is
 * stored from a rejected request.
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
    const outcome = await receiveActivity(deps, body.value, c.req.header("authorization"));
    if (!outcome.ok) return errorResponse(c, outcome.status, outcome.code, outcome.message);
    return outcome.body === undefined ? c.body(null, 200) : c.json(outcome.body as object, 200);
  });
  return app;
}
