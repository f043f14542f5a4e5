/**
 * The one error the Graph client throws. It carries Graph's own `error.code`
 * (`Forbidden`, `Request_ResourceNotFound`, `TooManyRequests`, ...), the HTTP status, the
 * Retry-After Graph gave, and a stable Herald code saying what kind of failure it is.
 */
export type GraphErrorCode =
  /** Graph answered with an error status. */
  | "HERALD_E_GRAPH_HTTP"
  /** No answer: refused, reset, timed out. */
  | "HERALD_E_GRAPH_NETWORK"
  /** The Graph URL is not a trusted Graph host: no token was sent. */
  | "HERALD_E_GRAPH_UNTRUSTED_HOST"
  /** No token for Graph (token endpoint failure or no credentials). */
  | "HERALD_E_GRAPH_TOKEN"
  /** The answer is not the JSON Graph documents. */
  | "HERALD_E_GRAPH_INVALID_RESPONSE"
  /** The caller's signal aborted the request. */
  | "HERALD_E_GRAPH_ABORTED";

export interface GraphErrorInit {
  heraldCode: GraphErrorCode;
  /** `GET /users/{id}` style, never a token or a body. */
  operation: string;
  status?: number | undefined;
  /** Graph's `error.code`. */
  graphCode?: string | undefined;
  /** Graph's `error.message` (trimmed). */
  serverMessage?: string | undefined;
  retryAfterMs?: number | undefined;
  detail?: string | undefined;
  cause?: unknown;
}

/** A Graph request that failed; see GraphErrorInit for the fields. */
export class GraphError extends Error {
  override readonly name = "GraphError";
  readonly heraldCode: GraphErrorCode;
  readonly operation: string;
  readonly status: number | undefined;
  readonly graphCode: string | undefined;
  readonly serverMessage: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(init: GraphErrorInit) {
    const what = init.status !== undefined ? `${init.status}${init.graphCode ? ` ${init.graphCode}` : ""}` : init.heraldCode;
    const words = init.serverMessage ?? init.detail ?? "";
    super(`Microsoft Graph ${init.operation} failed: ${what}${words ? `: ${words}` : ""}`, { cause: init.cause });
    this.heraldCode = init.heraldCode;
    this.operation = init.operation;
    this.status = init.status;
    this.graphCode = init.graphCode;
    this.serverMessage = init.serverMessage;
    this.retryAfterMs = init.retryAfterMs;
  }

  /** Graph throttled (429) or was briefly unavailable (503): try again after `retryAfterMs`. */
  get throttled(): boolean {
    return this.status === 429 || this.status === 503;
  }
}

/** `{error:{code,message}}` as Graph writes it, or what can be read of it. */
export function readGraphError(body: string): { code?: string; message?: string } {
  try {
    const json: unknown = JSON.parse(body);
    if (typeof json !== "object" || json === null) return {};
    const error = (json as { error?: unknown }).error;
    if (typeof error !== "object" || error === null) return {};
    const { code, message } = error as { code?: unknown; message?: unknown };
    return {
      code: typeof code === "string" ? code.slice(0, 100) : undefined,
      message: typeof message === "string" ? message.replace(/[\r\n]+/g, " ").slice(0, 400) : undefined,
    };
  } catch {
    return {};
  }
}
