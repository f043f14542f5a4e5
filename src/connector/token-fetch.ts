import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import { ConnectorError } from "./errors.js";
import { networkFacts } from "./network-error.js";
import { parseRetryAfter } from "./retry-after.js";
import { readTokenAnswer, readTokenError } from "./token-response.js";
import type { AccessToken } from "./tokens.js";
import { exchange, TransportFailure } from "./transport.js";

/** A token request, prepared once: the URL is split when the provider is built, not per request. */
export interface TokenRequest {
  /** The endpoint for messages and logs: origin and path, never the query or the body. */
  label: string;
  origin: string;
  path: string;
  method: "GET" | "POST";
  headers: Record<string, string>;
  body?: string | undefined;
}

/** Split an endpoint URL into a TokenRequest's origin, path (with query) and label. */
export function splitEndpoint(url: string): Pick<TokenRequest, "label" | "origin" | "path"> {
  const u = new URL(url);
  return { label: `${u.origin}${u.pathname}`, origin: u.origin, path: `${u.pathname}${u.search}` };
}

/** Send a token request and read the token. Every failure is a ConnectorError with `source: "token"`. */
export async function fetchToken(dispatcher: Dispatcher, req: TokenRequest, clock: Clock): Promise<AccessToken> {
  const base = { source: "token", operation: "getToken", url: req.label } as const;
  let answer: Awaited<ReturnType<typeof exchange>>;
  try {
    answer = await exchange(dispatcher, req);
  } catch (failure) {
    const error = failure instanceof TransportFailure ? failure.cause : failure;
    const facts = networkFacts(error);
    throw new ConnectorError({ ...base, kind: facts.kind, timeoutPhase: facts.timeoutPhase, detail: facts.detail, cause: error });
  }
  if (answer.status >= 200 && answer.status < 300) {
    let json: unknown;
    try {
      json = JSON.parse(answer.body);
    } catch {
      json = undefined;
    }
    const token = readTokenAnswer(json, clock.now());
    if (token) return { token: token.token, expiresInMs: token.expiresInMs };
    throw new ConnectorError({
      ...base,
      kind: "invalid-response",
      status: answer.status,
      detail: "the body has no access_token with expires_in",
    });
  }
  const facts = readTokenError(answer.body);
  throw new ConnectorError({
    ...base,
    kind: "http",
    status: answer.status,
    code: facts.code,
    subCode: facts.subCode,
    errorCode: facts.errorCode,
    serverMessage: facts.message,
    retryAfterMs: parseRetryAfter(answer.retryAfter, clock.now()),
  });
}
