import type { z } from "zod";
import type { conversationQuerySchema } from "../api/conversations.js";
import type { deliveryView, NotificationView } from "../api/notifications.js";
import { validationMessage } from "../api/validation.js";
import {
  type deliveriesQuerySchema,
  editRequestSchema,
  notificationRequestSchema,
  type notificationsQuerySchema,
} from "../delivery/request.js";
import type { ConversationRecord } from "../domain/conversation.js";

/**
 * `herald/client`: a typed client for a Herald server's HTTP API. Request types and the checks
 * made before anything is sent come from the zod schemas the server validates with and the
 * OpenAPI document (/openapi.json) is generated from, so a body this client accepts is one the
 * server accepts, and a bad one fails here with the server's own message.
 */

/** `POST /v1/notifications` body. */
export type NotificationRequest = z.input<typeof notificationRequestSchema>;
/** `PATCH /v1/notifications/{id}` body. */
export type EditRequest = z.input<typeof editRequestSchema>;
/** `GET /v1/notifications` query. */
export type NotificationsQuery = z.input<typeof notificationsQuerySchema>;
/** `GET /v1/notifications/{id}/deliveries` query (JSON pages; use `format: "csv"` with `fetch` yourself). */
export type DeliveriesQuery = Omit<z.input<typeof deliveriesQuerySchema>, "format">;
/** `GET /v1/conversations` query. */
export type ConversationsQuery = z.input<typeof conversationQuerySchema>;
export type { NotificationView };
/** One recipient's outcome in `/deliveries`. */
export type DeliveryView = ReturnType<typeof deliveryView>;
/** A page of a listing; `nextCursor` null at the end. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** An error answer `{error: {code, message}}` from the server, or a request refused before sending (status 0). */
export class HeraldApiError extends Error {
  constructor(
    /** HTTP status; 0 when the client refused the request before sending it. */
    readonly status: number,
    /** Stable `HERALD_E_...` code. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "HeraldApiError";
  }
}

export interface HeraldClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:3978`. */
  baseUrl: string;
  /** An API key with the scopes the calls need (`send`, `read`). */
  apiKey: string;
  /** Fetch implementation (default: global fetch). */
  fetch?: typeof fetch;
}

/** Typed calls to a Herald server; every method throws HeraldApiError on an error answer. */
export interface HeraldClient {
  /** `POST /v1/notifications`: 202 `{id, status}`; the same `idempotencyKey` replays the same notification. */
  notify(request: NotificationRequest): Promise<{ id: string; status: NotificationView["status"] }>;
  /** `GET /v1/notifications/{id}`. */
  notification(id: string): Promise<NotificationView>;
  /** `GET /v1/notifications`. */
  notifications(query?: NotificationsQuery): Promise<Page<NotificationView>>;
  /** `GET /v1/notifications/{id}/deliveries`. */
  deliveries(id: string, query?: DeliveriesQuery): Promise<Page<DeliveryView>>;
  /** `PATCH /v1/notifications/{id}`: edit every sent copy. */
  edit(id: string, request: EditRequest): Promise<NotificationView>;
  /** `DELETE /v1/notifications/{id}`: cancel and delete every sent copy. */
  recall(id: string): Promise<NotificationView>;
  /** `GET /v1/conversations`. */
  conversations(query?: ConversationsQuery): Promise<Page<ConversationRecord>>;
}

/** Refuse a body the server would refuse, with the server's code and message, before sending. */
function check(schema: z.ZodType, value: unknown): void {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new HeraldApiError(0, "HERALD_E_INVALID_BODY", validationMessage(parsed.error, "body"));
}

function queryString(query: Record<string, unknown> | undefined): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : "";
}

/** A client for the Herald server at `options.baseUrl`. */
export function createClient(options: HeraldClientOptions): HeraldClient {
  const base = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? fetch;
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${options.apiKey}`, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await doFetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    const json: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new HeraldApiError(res.status, error?.code ?? "HERALD_E_HTTP", error?.message ?? `${method} ${path} answered ${res.status}.`);
    }
    return json as T;
  }
  const id = (value: string) => encodeURIComponent(value);
  return {
    async notify(request) {
      check(notificationRequestSchema, request);
      return call("POST", "/v1/notifications", request);
    },
    notification: (nid) => call("GET", `/v1/notifications/${id(nid)}`),
    notifications: (query) => call("GET", `/v1/notifications${queryString(query)}`),
    deliveries: (nid, query) => call("GET", `/v1/notifications/${id(nid)}/deliveries${queryString(query)}`),
    async edit(nid, request) {
      check(editRequestSchema, request);
      return call("PATCH", `/v1/notifications/${id(nid)}`, request);
    },
    recall: (nid) => call("DELETE", `/v1/notifications/${id(nid)}`),
    conversations: (query) => call("GET", `/v1/conversations${queryString(query)}`),
  };
}
