import { sanitize } from "../log.js";

/**
 * What went wrong, at the level Herald sees it:
 * - `http`: the server answered with a non-2xx status (`status`, `code`, `subCode`, ... are set);
 * - `timeout`: connecting, waiting for the answer's headers or for its body took too long (`timeoutPhase`);
 * - `reset`: the connection was closed or reset while the request was in flight;
 * - `refused`: nothing listens at that address (ECONNREFUSED);
 * - `dns`: the host name does not resolve;
 * - `network`: another transport failure (TLS, protocol, unreachable network);
 * - `aborted`: the caller's AbortSignal fired;
 * - `untrusted`: the serviceUrl is not a trusted Connector host: nothing was sent, no token was asked for;
 * - `invalid-response`: a 2xx answer whose body lacks what the operation must return (e.g. no conversation id).
 */
export type ConnectorErrorKind =
  | "http"
  | "timeout"
  | "reset"
  | "refused"
  | "dns"
  | "network"
  | "aborted"
  | "untrusted"
  | "invalid-response";

/** Where it happened: the Connector itself, or the token endpoint Herald asked for the Connector's token. */
export type ConnectorErrorSource = "connector" | "token";

/** Which timeout fired (undici's connect, headers and body timeouts). */
export type TimeoutPhase = "connect" | "headers" | "body";

/** Every operation of the Connector client, plus fetching its token. */
export type ConnectorOperation =
  | "createConversation"
  | "sendToConversation"
  | "replyToActivity"
  | "updateActivity"
  | "deleteActivity"
  | "getPagedMembers"
  | "getMember"
  | "getTeamDetails"
  | "getTeamChannels"
  | "startBatch"
  | "getBatchState"
  | "getBatchFailedEntries"
  | "cancelBatch"
  | "getToken";

/** Stable codes for logs and reports; one per kind of failure (tokens share one). */
export type ConnectorErrorCode =
  | "HERALD_E_CONNECTOR_HTTP"
  | "HERALD_E_CONNECTOR_TIMEOUT"
  | "HERALD_E_CONNECTOR_NETWORK"
  | "HERALD_E_CONNECTOR_ABORTED"
  | "HERALD_E_CONNECTOR_RESPONSE"
  | "HERALD_E_UNTRUSTED_SERVICE_URL"
  | "HERALD_E_TOKEN";

export interface ConnectorErrorInit {
  kind: ConnectorErrorKind;
  source: ConnectorErrorSource;
  operation: ConnectorOperation;
  /** The serviceUrl (or, for `source: "token"`, the token endpoint) the request was for. */
  url: string;
  status?: number | undefined;
  code?: string | undefined;
  subCode?: string | undefined;
  errorCode?: number | undefined;
  /** Text from the server's body (already sanitized by the body parser). */
  serverMessage?: string | undefined;
  retryAfterMs?: number | undefined;
  timeoutPhase?: TimeoutPhase | undefined;
  /** A short technical detail for the message (e.g. the socket error code). */
  detail?: string | undefined;
  /** Override of the derived `mayHaveArrived` (an abort after the request was dispatched). */
  mayHaveArrived?: boolean | undefined;
  cause?: unknown;
}

/**
 * The one error the Connector client and its token providers throw. It carries the raw facts a
 * retry table needs (status, Teams code and subCode, Retry-After, transport kind, whether the
 * request may have reached the server) and decides nothing itself.
 */
export class ConnectorError extends Error {
  override readonly name = "ConnectorError";
  /** Stable Herald code, derived from `kind` and `source`. */
  readonly heraldCode: ConnectorErrorCode;
  readonly kind: ConnectorErrorKind;
  readonly source: ConnectorErrorSource;
  readonly operation: ConnectorOperation;
  readonly url: string;
  /** HTTP status when the server answered (`kind: "http"` or `"invalid-response"`). */
  readonly status: number | undefined;
  /**
   * The server's error code: Teams' `error.code` (`ConversationBlockedByUser`, `Throttled`, ...),
   * or OAuth's `error` (`invalid_client`) when `source` is `"token"`.
   */
  readonly code: string | undefined;
  /** The decoded nested subCode (`MessageWritesBlocked`). */
  readonly subCode: string | undefined;
  /** Teams' numeric errorCode (209), or the first AADSTS number of a token error (7000215). */
  readonly errorCode: number | undefined;
  /** The server's own words, sanitized (never the request body, never a token). */
  readonly serverMessage: string | undefined;
  /** From `Retry-After` (delta seconds or HTTP date, relative to the injected clock), in ms. */
  readonly retryAfterMs: number | undefined;
  readonly timeoutPhase: TimeoutPhase | undefined;
  /**
   * False when the request certainly never reached the server: untrusted host, refused, DNS,
   * connect timeout, token failure, or any failure before the request went onto a connection (a
   * reset during the TLS handshake, the pool closing, aborted before sending): re-sending cannot
   * duplicate a message. True when it may have: an answer came, or the connection broke or timed
   * out after the request was written (Teams may have delivered it without answering).
   */
  readonly mayHaveArrived: boolean;

  constructor(init: ConnectorErrorInit) {
    super(describe(init), init.cause === undefined ? undefined : { cause: init.cause });
    this.kind = init.kind;
    this.source = init.source;
    this.operation = init.operation;
    this.url = init.url;
    this.status = init.status;
    this.code = init.code;
    this.subCode = init.subCode;
    this.errorCode = init.errorCode;
    this.serverMessage = init.serverMessage;
    this.retryAfterMs = init.retryAfterMs;
    this.timeoutPhase = init.timeoutPhase;
    this.heraldCode = codeOf(init.kind, init.source);
    this.mayHaveArrived = mayHaveArrived(init);
  }
}

function codeOf(kind: ConnectorErrorKind, source: ConnectorErrorSource): ConnectorErrorCode {
  if (kind === "untrusted") return "HERALD_E_UNTRUSTED_SERVICE_URL";
  if (kind === "aborted") return "HERALD_E_CONNECTOR_ABORTED";
  if (source === "token") return "HERALD_E_TOKEN";
  switch (kind) {
    case "http":
      return "HERALD_E_CONNECTOR_HTTP";
    case "timeout":
      return "HERALD_E_CONNECTOR_TIMEOUT";
    case "invalid-response":
      return "HERALD_E_CONNECTOR_RESPONSE";
    default:
      return "HERALD_E_CONNECTOR_NETWORK";
  }
}

function mayHaveArrived(init: ConnectorErrorInit): boolean {
  if (init.mayHaveArrived !== undefined) return init.mayHaveArrived;
  if (init.source === "token") return false;
  switch (init.kind) {
    case "http":
    case "invalid-response":
    case "reset":
    case "network":
      return true;
    case "timeout":
      return init.timeoutPhase !== "connect";
    default:
      return false;
  }
}

function describe(i: ConnectorErrorInit): string {
  const target = i.source === "token" ? `the token endpoint ${i.url}` : `the Connector at ${i.url}`;
  const what = i.source === "token" ? "Getting a Connector token" : i.operation;
  switch (i.kind) {
    case "untrusted":
      return `Refused to call ${i.operation} on serviceUrl ${sanitize(i.url)}: its host is not a trusted Connector host for the configured cloud, so no token or message was sent. If this host is yours (e.g. a local emulator), add it to HERALD_TRUSTED_HOSTS.`;
    case "http": {
      const codes = [i.code, i.subCode, i.errorCode === undefined ? undefined : `errorCode ${i.errorCode}`].filter(Boolean).join(" / ");
      const said = i.serverMessage ? `: ${i.serverMessage}` : "";
      const retry = i.retryAfterMs === undefined ? "" : ` (Retry-After ${i.retryAfterMs} ms)`;
      const hint = i.source === "token" ? " Check HERALD_APP_ID, HERALD_APP_PASSWORD, HERALD_APP_TENANT_ID and HERALD_APP_TYPE." : "";
      return `${what} failed: ${target} answered ${i.status}${codes ? ` ${codes}` : ""}${said}${retry}.${hint}`;
    }
    case "timeout":
      return `${what} timed out (${i.timeoutPhase ?? "unknown"} phase) calling ${target}${i.detail ? `: ${i.detail}` : ""}. Raise the HTTP timeouts if the server is merely slow.`;
    case "aborted":
      return `${what} was aborted by the caller before ${target} answered.`;
    case "invalid-response":
      return `${what}: ${target} answered ${i.status} but ${i.detail ?? "the body was not what the operation returns"}.`;
    default:
      return `${what} failed: ${i.kind} error calling ${target}${i.detail ? ` (${i.detail})` : ""}.`;
  }
}
