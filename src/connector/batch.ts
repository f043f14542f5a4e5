/**
 * Teams' bulk ("batch") messaging (protocol reference, section 1): one activity to many users or
 * channels in one request, run by Teams in the background as an operation whose state and failed
 * entries are read later. No official REST page exists; the shapes come from Microsoft's SDKs,
 * so the readers accept both spellings they use (`{operationId}` or a bare string,
 * `statusMap` or `stateMap`). Teams returns no activity ids for batch sends: what goes out this
 * way can never be edited or recalled.
 */

import type { OutgoingActivity } from "./client.js";

/** Which batch endpoint: a list of users (`29:` ids) or a list of channels (`19:` ids). */
export type BatchKind = "users" | "channels";

/** The body of `POST /v3/batch/conversation/{users|channels}`. */
export interface BatchRequest {
  activity: OutgoingActivity;
  tenantId: string;
  /** User ids (`users`) or channel ids (`channels`). */
  members: { id: string }[];
}

/** `GET /v3/batch/conversation/{operationId}`. */
export interface BatchState {
  /** Teams' words: `InProgress`, `Completed`, `Canceled` (`Failed` seen in SDK enums). */
  state: string;
  /** HTTP status of processed entries → how many. */
  statusMap: Record<string, number>;
  /** When Teams says when to ask again, in ms; undefined otherwise. */
  retryAfterMs: number | undefined;
  totalEntriesCount: number | undefined;
}

/** One page of `GET /v3/batch/conversation/failedentries/{operationId}`. */
export interface FailedEntriesPage {
  entries: { id: string; error: string }[];
  continuationToken: string | undefined;
}

/** The batch calls of the Connector (implemented by HttpConnectorClient). */
export interface BatchConnector {
  /** Start an operation; answers its id. */
  startBatch(serviceUrl: string, kind: BatchKind, request: BatchRequest, signal?: AbortSignal): Promise<string>;
  getBatchState(serviceUrl: string, operationId: string, signal?: AbortSignal): Promise<BatchState>;
  getBatchFailedEntries(
    serviceUrl: string,
    operationId: string,
    continuationToken?: string,
    signal?: AbortSignal,
  ): Promise<FailedEntriesPage>;
  cancelBatch(serviceUrl: string, operationId: string, signal?: AbortSignal): Promise<void>;
}

/** Whether `x` offers the batch calls (the HTTP client does; test doubles and wrappers may not). */
export function hasBatch(x: unknown): x is BatchConnector {
  return typeof x === "object" && x !== null && typeof (x as Partial<BatchConnector>).startBatch === "function";
}

const seg = encodeURIComponent;

/** `POST` start an operation. */
export const batchStartPath = (kind: BatchKind): string => `/v3/batch/conversation/${kind}`;
/** `GET` state, `DELETE` cancel. */
export const batchOperationPath = (operationId: string): string => `/v3/batch/conversation/${seg(operationId)}`;
/** `GET` failed entries, paged. */
export function batchFailedPath(operationId: string, continuationToken?: string): string {
  const base = `/v3/batch/conversation/failedentries/${seg(operationId)}`;
  return continuationToken ? `${base}?continuationToken=${seg(continuationToken)}` : base;
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** `{operationId}` or a bare JSON string. */
export function readOperationId(json: unknown): string | undefined {
  if (typeof json === "string" && json.length > 0) return json;
  if (isRecord(json) && typeof json["operationId"] === "string" && json["operationId"].length > 0) return json["operationId"];
  return undefined;
}

/** The operation's state; `retryAfter` may be seconds, an ISO time or null. */
export function readBatchState(json: unknown, now: number): BatchState | undefined {
  if (!isRecord(json) || typeof json["state"] !== "string") return undefined;
  const raw = isRecord(json["statusMap"]) ? json["statusMap"] : isRecord(json["stateMap"]) ? json["stateMap"] : {};
  const statusMap: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === "number" && Number.isFinite(v)) statusMap[k] = v;
  const ra = json["retryAfter"];
  let retryAfterMs: number | undefined;
  if (typeof ra === "number" && ra > 0) retryAfterMs = ra * 1_000;
  else if (typeof ra === "string" && ra !== "") {
    const at = Date.parse(ra);
    if (Number.isFinite(at)) retryAfterMs = Math.max(0, at - now);
  }
  const total = json["totalEntriesCount"];
  return { state: json["state"], statusMap, retryAfterMs, totalEntriesCount: typeof total === "number" ? total : undefined };
}

/** A page of failed entries (`failedEntryResponses`). */
export function readFailedEntries(json: unknown): FailedEntriesPage | undefined {
  if (!isRecord(json)) return undefined;
  const list = json["failedEntryResponses"] ?? json["failedEntries"] ?? [];
  if (!Array.isArray(list)) return undefined;
  const entries: { id: string; error: string }[] = [];
  for (const e of list) {
    if (!isRecord(e) || typeof e["id"] !== "string") continue;
    const err = e["error"];
    const code = typeof err === "string" ? err : isRecord(err) && typeof err["code"] === "string" ? err["code"] : "Unknown";
    entries.push({ id: e["id"], error: code });
  }
  const token = json["continuationToken"];
  return { entries, continuationToken: typeof token === "string" && token !== "" ? token : undefined };
}
