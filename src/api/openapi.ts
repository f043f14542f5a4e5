import { z } from "zod";
import {
  blockedQuerySchema,
  deliveriesQuerySchema,
  editRequestSchema,
  notificationRequestSchema,
  notificationsQuerySchema,
} from "../delivery/request.js";
import { conversationQuerySchema } from "./conversations.js";
import { approveBodySchema, draftBodySchema, returnBodySchema } from "./drafts.js";
import { estimateRequestSchema } from "./estimate.js";
import { installationItemsQuerySchema, installationListQuerySchema, installationRequestSchema } from "./installations.js";
import { auditQuerySchema, createKeySchema } from "./keys.js";
import { retryQuerySchema } from "./notification-retry.js";
import { optOutsQuerySchema, tenantSettingsBodySchema, userPreferencesBodySchema, userPreferencesQuerySchema } from "./preferences.js";
import { responsesQuerySchema } from "./responses.js";
import { seriesEditSchema, seriesQuerySchema, seriesRequestSchema } from "./series.js";
import { templateBodySchema, templateListQuerySchema } from "./templates.js";
import { tenantsQuerySchema } from "./tenants.js";
import { testSendBodySchema } from "./test-send.js";

type Schema = Record<string, unknown>;

const errorBody: Schema = {
  type: "object",
  required: ["error"],
  properties: {
    error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" } } },
  },
};

const json = (schema: z.ZodType): Schema => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Schema;

function queryParameters(schema: z.ZodObject): Schema[] {
  const s = json(schema) as { properties?: Record<string, Schema>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, p]) => ({
    name,
    in: "query",
    required: s.required?.includes(name) ?? false,
    schema: p,
    description: p["description"],
  }));
}

/** Error answers of a secured operation; every one can also answer 429 (the per-key request limit). */
const errors = (...codes: number[]) =>
  Object.fromEntries(
    [...new Set([...codes, 429])].map((c) => [
      String(c),
      { description: statusText[c] ?? "error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
    ]),
  );

const statusText: Record<number, string> = {
  400: "Invalid request: the message names the field",
  401: "Missing or invalid API key",
  403: "The key lacks the scope or the tenant",
  404: "Not found",
  409: "Conflict (idempotency key reused with another body)",
  413: "Body too large",
  429: "Too many requests for this key (Retry-After)",
};

const notificationView: Schema = {
  type: "object",
  required: ["id", "status", "total", "counts", "createdAt"],
  properties: {
    id: { type: "string" },
    status: { enum: ["scheduled", "queued", "sending", "completed", "canceled"] },
    total: { type: "integer" },
    counts: {
      type: "object",
      properties: Object.fromEntries(
        ["pending", "sent", "failed", "blocked", "notFound", "optedOut", "canceled", "unknown", "read"].map((k) => [
          k,
          { type: "integer" },
        ]),
      ),
    },
    createdAt: { type: "string", format: "date-time" },
    startedAt: { type: ["string", "null"], format: "date-time" },
    completedAt: { type: ["string", "null"], format: "date-time" },
    responses: {
      description: "Answers to a poll or acknowledgement (total, per option) and reactions per type; absent when there are none to give.",
      type: "object",
      properties: {
        kind: { enum: ["poll", "ack"] },
        total: { type: "integer" },
        options: {
          type: "array",
          items: { type: "object", properties: { index: { type: "integer" }, text: { type: "string" }, count: { type: "integer" } } },
        },
        closesAt: { type: "string", format: "date-time" },
        anonymous: { type: "boolean" },
        reactions: { type: "object", additionalProperties: { type: "integer" } },
      },
    },
  },
  example: {
    id: "ntf_01jd…",
    status: "sending",
    total: 3000,
    counts: { pending: 1200, sent: 1740, failed: 0, blocked: 52, notFound: 8, optedOut: 0, canceled: 0, unknown: 0 },
    createdAt: "2026-11-25T09:00:00.000Z",
  },
};

const bearer = [{ apiKey: [] }];

/**
 * The OpenAPI 3.1 document of Herald's HTTP API (`GET /openapi.json`), generated from the same
 * zod schemas that validate requests (so the document cannot drift from what the server accepts).
 * @param serverUrl listed under `servers` when given
 */
export function openApiDocument(serverUrl?: string): Schema {
  const idParam = { name: "id", in: "path", required: true, schema: { type: "string" } };
  const userIdParam = {
    name: "userId",
    in: "path",
    required: true,
    schema: { type: "string" },
    description: "Teams user id (29:...) or Entra object id",
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "Herald API",
      version: "0.1.0",
      description:
        "Proactive messages into Microsoft Teams. Authenticate with `Authorization: Bearer <api key>`. Errors are `{error:{code,message}}`.",
    },
    ...(serverUrl ? { servers: [{ url: serverUrl }] } : {}),
    components: {
      securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "HERALD_API_KEY or a key created with POST /v1/keys" } },
      schemas: { Error: errorBody, Notification: notificationView },
    },
    security: bearer,
    paths: {
      "/v1/notifications": {
        post: {
          summary: "Send a notification to an audience",
          description: "Stored durably (with one delivery row per recipient as the audience expands) before the 202.",
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: json(notificationRequestSchema),
                examples: {
                  broadcast: {
                    value: { audience: { all: true }, message: { text: "Office closed Friday", summary: "Office closed", alert: true } },
                  },
                  users: {
                    value: {
                      audience: { users: ["29:1abc…"], tenantId: "72f988bf-…" },
                      message: { card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "Hi ${givenName}" }] } },
                      idempotencyKey: "payroll-2026-11",
                    },
                  },
                  teamByGroupId: {
                    summary:
                      "A team named by its Entra group id (with tenantId): where the bot is missing, the app is installed first (HERALD_AUTO_INSTALL=on), then the post goes to General; else the team's row ends notFound/failed with the install code",
                    value: {
                      audience: { teams: ["0b2c7a4e-5d1f-4a8e-9c3b-2f6e8d1a7b40"], tenantId: "72f988bf-…", deliverTo: "channel" },
                      message: { text: "Release notes are out" },
                    },
                  },
                },
              },
            },
          },
          responses: {
            "202": {
              description: "Accepted",
              content: {
                "application/json": { schema: { type: "object", properties: { id: { type: "string" }, status: { type: "string" } } } },
              },
            },
            ...errors(400, 401, 403, 409, 413, 429),
          },
        },
        get: {
          summary: "List notifications",
          parameters: queryParameters(notificationsQuerySchema),
          responses: { "200": { description: "A page" }, ...errors(400, 401, 403) },
        },
      },
      "/v1/notifications/{id}": {
        get: {
          summary: "Counts and status (always add up to total)",
          parameters: [idParam],
          responses: {
            "200": {
              description: "The notification",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Notification" } } },
            },
            ...errors(401, 403, 404),
          },
        },
        patch: {
          summary: "Edit the message everywhere it was sent (409 HERALD_E_BATCH_NO_ACTIVITY_IDS when it was sent with delivery.mode batch)",
          parameters: [idParam],
          requestBody: { required: true, content: { "application/json": { schema: json(editRequestSchema) } } },
          responses: { "202": { description: "Edit under way" }, ...errors(400, 401, 403, 404, 409) },
        },
        delete: {
          summary:
            "Cancel what is pending and recall (delete) what was sent. A notification sent with delivery.mode batch: rows not yet submitted are canceled and Teams is asked to cancel its running operations; copies already sent have no activity id and stay, which the answer's `batch` says ({notRecallable, operationsCanceled, message})",
          parameters: [idParam],
          responses: { "202": { description: "Recall under way" }, ...errors(401, 403, 404, 409) },
        },
      },
      "/v1/notifications/{id}/deliveries": {
        get: {
          summary: "Per-recipient outcomes (paged; format=csv for a download)",
          parameters: [idParam, ...queryParameters(deliveriesQuerySchema)],
          responses: { "200": { description: "A page, or CSV" }, ...errors(400, 401, 403, 404) },
        },
      },
      "/v1/notifications/{id}/responses": {
        get: {
          summary: "Answers to a poll or acknowledgement, in the order they came (paged; format=csv for a download)",
          description:
            "Each answer: who (null for anonymous polls), the chosen option indexes and texts, when. The JSON page also carries `summary`: the running totals per option and the reactions per type.",
          parameters: [idParam, ...queryParameters(responsesQuerySchema)],
          responses: { "200": { description: "A page, or CSV" }, ...errors(400, 401, 403, 404) },
        },
      },
      "/v1/notifications/{id}/retry": {
        post: {
          summary: "Send again the recipients that ended failed (and unknown with include=unknown); the notification reopens",
          parameters: [idParam, ...queryParameters(retryQuerySchema)],
          responses: { "202": { description: "The notification, with `retried`" }, ...errors(400, 401, 403, 404, 409) },
        },
      },
      "/v1/conversations": {
        get: {
          summary: "Stored conversation references",
          parameters: queryParameters(conversationQuerySchema),
          responses: { "200": { description: "A page" }, ...errors(400, 401, 403) },
        },
      },
      "/v1/reports/blocked": {
        get: {
          summary: "Who blocked or uninstalled the bot, when, with Teams' code",
          parameters: queryParameters(blockedQuerySchema),
          responses: { "200": { description: "A page, or CSV" }, ...errors(400, 401, 403) },
        },
      },
      "/v1/keys": {
        post: {
          summary: "Create an API key (admin); the secret is returned once",
          requestBody: { required: true, content: { "application/json": { schema: json(createKeySchema) } } },
          responses: { "201": { description: "Created, with `key`" }, ...errors(400, 401, 403) },
        },
        get: { summary: "List API keys (admin), never their secrets", responses: { "200": { description: "Keys" }, ...errors(401, 403) } },
      },
      "/v1/keys/{id}": {
        delete: {
          summary: "Revoke an API key (admin)",
          parameters: [idParam],
          responses: { "204": { description: "Revoked" }, ...errors(401, 403, 404) },
        },
      },
      "/v1/audiences/estimate": {
        post: {
          summary: "How many recipients an audience would reach now (read); writes nothing",
          requestBody: { required: true, content: { "application/json": { schema: json(estimateRequestSchema) } } },
          responses: { "200": { description: "{recipients (null for team rosters), skipped, exact, note?}" }, ...errors(400, 401, 403) },
        },
      },
      "/v1/drafts": {
        post: {
          summary: "Draft a notification for approval (draft scope); refused outside the key's tenants",
          requestBody: { required: true, content: { "application/json": { schema: json(draftBodySchema) } } },
          responses: { "201": { description: "The draft" }, ...errors(400, 401, 403) },
        },
        get: {
          summary: "Drafts, newest first (draft, approve or read scope)",
          responses: { "200": { description: "{items}" }, ...errors(400, 401, 403) },
        },
      },
      "/v1/drafts/{id}": {
        get: {
          summary: "A draft and its decisions",
          parameters: [idParam],
          responses: { "200": { description: "The draft with `history`" }, ...errors(401, 403, 404) },
        },
        put: {
          summary: "Change a draft not yet submitted, or sent back (its author)",
          parameters: [idParam],
          requestBody: { required: true, content: { "application/json": { schema: json(draftBodySchema) } } },
          responses: { "200": { description: "The draft" }, ...errors(400, 401, 403, 404, 409) },
        },
      },
      "/v1/drafts/{id}/submit": {
        post: {
          summary: "Submit a draft for approval (its author)",
          parameters: [idParam],
          responses: { "200": { description: "The draft" }, ...errors(401, 403, 404, 409) },
        },
      },
      "/v1/drafts/{id}/approve": {
        post: {
          summary: "Approve a submitted draft (approve scope, not its author): it is sent as its author",
          parameters: [idParam],
          requestBody: { required: false, content: { "application/json": { schema: json(approveBodySchema) } } },
          responses: { "202": { description: "The draft with `notificationId`" }, ...errors(400, 401, 403, 404, 409) },
        },
      },
      "/v1/drafts/{id}/return": {
        post: {
          summary: "Send a submitted draft back to its author with a comment (approve scope)",
          parameters: [idParam],
          requestBody: { required: true, content: { "application/json": { schema: json(returnBodySchema) } } },
          responses: { "200": { description: "The draft" }, ...errors(400, 401, 403, 404, 409) },
        },
      },
      "/v1/templates": {
        post: {
          summary: "Save a template: name, message (text, markdown, card, poll, ack or survey), category, options (send or draft scope)",
          requestBody: { required: true, content: { "application/json": { schema: json(templateBodySchema) } } },
          responses: { "201": { description: "The template" }, ...errors(400, 401, 403, 413) },
        },
        get: {
          summary:
            "Saved templates by name, then id (send, draft or read scope), a page at a time: follow nextCursor while it is not null (a page may hold fewer than limit)",
          parameters: queryParameters(templateListQuerySchema),
          responses: { "200": { description: "{items, nextCursor}" }, ...errors(400, 401, 403) },
        },
      },
      "/v1/templates/{id}": {
        get: {
          summary: "A saved template",
          parameters: [idParam],
          responses: { "200": { description: "The template" }, ...errors(401, 403, 404) },
        },
        put: {
          summary: "Replace a template (its creator, or an admin)",
          parameters: [idParam],
          requestBody: { required: true, content: { "application/json": { schema: json(templateBodySchema) } } },
          responses: { "200": { description: "The template" }, ...errors(400, 401, 403, 404, 413) },
        },
        delete: {
          summary: "Delete a template (its creator, or an admin)",
          parameters: [idParam],
          responses: { "204": { description: "Deleted" }, ...errors(401, 403, 404) },
        },
      },
      "/v1/notifications/test": {
        post: {
          summary:
            "Send a message now to one person only (a test to oneself; send scope): a notification of its own, urgent, no category; idempotencyKey as for POST /v1/notifications",
          requestBody: { required: true, content: { "application/json": { schema: json(testSendBodySchema) } } },
          responses: { "202": { description: "{id, status, test: true}" }, ...errors(400, 401, 403, 409, 413) },
        },
      },
      "/v1/audit": {
        get: {
          summary: "Audit log of writes (admin)",
          parameters: queryParameters(auditQuerySchema),
          responses: { "200": { description: "A page" }, ...errors(400, 401, 403) },
        },
      },
      "/v1/tenants": {
        get: {
          summary: "Tenants Herald knows: active, or disabled by their admin (403 BotDisabledByAdmin) since when, rows waiting (admin)",
          parameters: queryParameters(tenantsQuerySchema),
          responses: { "200": { description: "{items:[{tenantId,state,code,since,conversations,waiting}]}" }, ...errors(400, 401, 403) },
        },
      },
      "/v1/tenants/{id}/resume": {
        post: {
          summary: "Resume sending to a tenant whose admin allowed the bot again (admin); harmless when it is active",
          parameters: [idParam],
          responses: { "200": { description: "The tenant, with `resumed`" }, ...errors(401, 403, 404) },
        },
      },
      "/v1/series": {
        post: {
          summary: "Create a recurring series (`schedule: {cron, timeZone?, localTime?: true, until?}`); each run is its own notification",
          description:
            "A `POST /v1/notifications` whose schedule is a cron creates a series too (201 `{id, status, series: true, nextRunAt}`). After downtime only the latest missed run is sent, once; with several processes exactly one starts each run.",
          requestBody: { required: true, content: { "application/json": { schema: json(seriesRequestSchema) } } },
          responses: { "201": { description: "The series" }, ...errors(400, 401, 403, 413) },
        },
        get: {
          summary: "List series, newest first",
          parameters: queryParameters(seriesQuerySchema),
          responses: { "200": { description: "A page" }, ...errors(400, 401, 403) },
        },
      },
      "/v1/series/{id}": {
        get: {
          summary: "A series: state, schedule, next and last run, `recentRuns` (their notifications)",
          parameters: [idParam],
          responses: { "200": { description: "The series" }, ...errors(401, 403, 404) },
        },
        patch: {
          summary: "Edit what the next runs send (audience, message, data, category) or when (schedule: restarts from now)",
          parameters: [idParam],
          requestBody: { required: true, content: { "application/json": { schema: json(seriesEditSchema) } } },
          responses: { "200": { description: "The series" }, ...errors(400, 401, 403, 404, 409) },
        },
        delete: {
          summary: "Cancel the series for good (runs already started stay)",
          parameters: [idParam],
          responses: { "200": { description: "The series, canceled" }, ...errors(401, 403, 404) },
        },
      },
      "/v1/series/{id}/pause": {
        post: {
          summary: "Pause: no runs until resumed",
          parameters: [idParam],
          responses: { "200": { description: "The series" }, ...errors(401, 403, 404, 409) },
        },
      },
      "/v1/series/{id}/resume": {
        post: {
          summary: "Resume from the next occurrence (runs missed while paused are not sent)",
          parameters: [idParam],
          responses: { "200": { description: "The series" }, ...errors(401, 403, 404, 409) },
        },
      },
      // Preferences (issue 11).
      "/v1/users/{userId}/preferences": {
        get: {
          summary: "A person's preferences: optedOut (everything) and categories {name: true = receiving, false = opted out} (read)",
          parameters: [userIdParam, ...queryParameters(userPreferencesQuerySchema)],
          responses: { "200": { description: "{tenantId,userId,optedOut,categories,updatedAt}" }, ...errors(400, 401, 403) },
        },
        put: {
          summary: "Change a person's preferences (send); categories not named keep their value; tenantId in the body or the query",
          parameters: [userIdParam],
          requestBody: { required: true, content: { "application/json": { schema: json(userPreferencesBodySchema) } } },
          responses: { "200": { description: "The preferences as stored" }, ...errors(400, 401, 403) },
        },
      },
      "/v1/reports/opt-outs": {
        get: {
          summary: "Opt-outs: counts per tenant and category (`*` = everything) and a page of people, or CSV (read)",
          parameters: queryParameters(optOutsQuerySchema),
          responses: {
            "200": { description: "{counts:[{tenantId,category,count}], items, nextCursor}, or CSV" },
            ...errors(400, 401, 403),
          },
        },
      },
      "/v1/tenants/{id}": {
        get: {
          summary: "A tenant's default time zone, quiet hours and working days (admin)",
          parameters: [idParam],
          responses: { "200": { description: "{tenantId,timeZone,quietHours,workingDays,updatedAt}" }, ...errors(401, 403) },
        },
        put: {
          summary:
            "Set a tenant's time zone, quiet hours {start,end} (HH:MM local) and working days (admin); non-urgent messages wait for each recipient's next allowed moment in their own zone; null clears a field",
          parameters: [idParam],
          requestBody: { required: true, content: { "application/json": { schema: json(tenantSettingsBodySchema) } } },
          responses: { "200": { description: "The settings as stored" }, ...errors(400, 401, 403) },
        },
      },
      "/v1/installations": {
        get: {
          summary: "Installation jobs, newest first, with their counts (admin; a tenant-limited key sees its tenants')",
          parameters: queryParameters(installationListQuerySchema),
          responses: {
            "200": { description: "{items:[{id, status, tenantId, total, counts, error, createdAt, completedAt}], nextCursor}" },
            ...errors(400, 401, 403),
            "503": { description: "No Graph (no credentials, or HERALD_AUTO_INSTALL=off)" },
          },
        },
        post: {
          summary:
            "Install the app through Microsoft Graph for users, groups' members, teams, group chats or the whole directory of a tenant, ahead of a broadcast (admin)",
          requestBody: { required: true, content: { "application/json": { schema: json(installationRequestSchema) } } },
          responses: {
            "202": { description: "{id, status, tenantId, total, counts:{installed, alreadyInstalled, refused, failed}}" },
            ...errors(400, 401, 403),
            "503": { description: "No Graph (no credentials, or HERALD_AUTO_INSTALL=off)" },
          },
        },
      },
      "/v1/installations/{id}": {
        get: {
          summary: "An installation job and its live counts (admin)",
          parameters: [idParam],
          responses: {
            "200": { description: "{id, status, tenantId, total, counts, error, createdAt, completedAt}" },
            ...errors(401, 403, 404),
          },
        },
      },
      "/v1/installations/{id}/items": {
        get: {
          summary: "Outcome per user of an installation job, with Herald's code for refusals (`format=csv` for a download) (admin)",
          parameters: [idParam, ...queryParameters(installationItemsQuerySchema)],
          responses: { "200": { description: "{items:[{seq,userId,status,code,message,at}], next}" }, ...errors(400, 401, 403, 404) },
        },
      },
      "/healthz": { get: { summary: "The process is up", security: [], responses: { "200": { description: "ok" } } } },
      "/readyz": {
        get: {
          summary: "The store answers and migrations are applied",
          description:
            "200 while the store answers, with `degraded: true` and `delivery: {state, code, reason, since, retryAt}` while sending is paused because the bot's credentials fail (the API still accepts notifications); 503 when the store does not answer.",
          security: [],
          responses: { "200": { description: "ready (maybe degraded)" }, "503": { description: "not ready" } },
        },
      },
      "/metrics": { get: { summary: "Prometheus metrics", security: [], responses: { "200": { description: "text/plain" } } } },
    },
  };
}
