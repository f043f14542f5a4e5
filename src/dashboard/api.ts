/**
 * The dashboard's only way to the server: the public HTTP API (`/v1/...`) with the session
 * cookie, plus the session endpoints. Every state-changing request carries the session's CSRF
 * token; errors come back as {@link ApiError} with Herald's stable code and message.
 */

/** Who is signed in (GET /dashboard/session). */
export interface Me {
  keyId: string;
  scopes: string[];
  tenants: string[] | null;
  /** Teams and Entra groups it may reach (null = no such limit). */
  teams?: string[] | null;
  groups?: string[] | null;
  /** A person signed in with the organisation's OpenID Connect provider (null for an API key). */
  person?: { name?: string; username?: string } | null;
  csrf: string;
  expiresAt: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = "";

/** Remember the CSRF token of the signed-in session. */
export function useSession(me: Me | undefined): void {
  csrf = me?.csrf ?? "";
}

/** Call the server; JSON in and out. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") headers["x-csrf-token"] = csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = {};
  }
  if (!res.ok) {
    const err = (json as { error?: { code?: string; message?: string } }).error;
    throw new ApiError(res.status, err?.code ?? "HERALD_E_HTTP", err?.message ?? `${res.status} ${res.statusText}`);
  }
  return json as T;
}

/** The message of an error, for an alert. */
export const errorText = (e: unknown): string =>
  e instanceof ApiError ? `${e.message} (${e.code})` : e instanceof Error ? e.message : String(e);

/** `GET /v1/notifications/{id}`. */
export interface NotificationView {
  id: string;
  status: string;
  total: number;
  counts: Record<string, number>;
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
  scheduledAt?: string;
  canceledAt?: string;
  category?: string;
  messageVersion: number;
  expanding: boolean;
  edit?: { pending: number; done: number; failed: number };
  recall?: { pending: number; done: number; failed: number };
}

/** A page of a listing. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
