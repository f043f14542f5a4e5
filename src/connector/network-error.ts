import type { ConnectorErrorKind, TimeoutPhase } from "./errors.js";

/** A transport failure reduced to what a retry table can key on. */
export interface NetworkFacts {
  kind: Extract<ConnectorErrorKind, "timeout" | "reset" | "refused" | "dns" | "network" | "aborted">;
  timeoutPhase?: TimeoutPhase | undefined;
  /** The error code that decided it (`UND_ERR_HEADERS_TIMEOUT`, `ECONNRESET`, ...), for the message. */
  detail: string | undefined;
}

const byCode: Readonly<Record<string, Omit<NetworkFacts, "detail">>> = {
  UND_ERR_CONNECT_TIMEOUT: { kind: "timeout", timeoutPhase: "connect" },
  ETIMEDOUT: { kind: "timeout", timeoutPhase: "connect" },
  UND_ERR_HEADERS_TIMEOUT: { kind: "timeout", timeoutPhase: "headers" },
  UND_ERR_BODY_TIMEOUT: { kind: "timeout", timeoutPhase: "body" },
  // undici's SocketError ("other side closed") is what a server destroying the socket looks like.
  UND_ERR_SOCKET: { kind: "reset" },
  ECONNRESET: { kind: "reset" },
  EPIPE: { kind: "reset" },
  UND_ERR_CLOSED: { kind: "reset" },
  ECONNREFUSED: { kind: "refused" },
  ENOTFOUND: { kind: "dns" },
  EAI_AGAIN: { kind: "dns" },
  EAI_NONAME: { kind: "dns" },
  UND_ERR_ABORTED: { kind: "aborted" },
  ABORT_ERR: { kind: "aborted" },
};

/**
 * Classify an error thrown by undici (or Node's socket layer beneath it). Looks through `cause`
 * chains and AggregateErrors (Node's happy-eyeballs connect reports one error per address).
 * Unknown errors are `network`.
 */
export function networkFacts(error: unknown): NetworkFacts {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === "object"; depth++) {
    const e = current as { code?: unknown; name?: unknown; cause?: unknown; errors?: unknown };
    const code = typeof e.code === "string" ? e.code : undefined;
    const known = code === undefined ? undefined : byCode[code];
    if (known) return { ...known, detail: code };
    if (e.name === "AbortError") return { kind: "aborted", detail: "AbortError" };
    if (Array.isArray(e.errors) && e.errors.length > 0) current = e.errors[0];
    else current = e.cause;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return { kind: "network", detail: typeof code === "string" ? code : error instanceof Error ? error.message : undefined };
}
