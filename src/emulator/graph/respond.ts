import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { decodeJwt } from "jose";
import type { EmulatorContext } from "../context.js";
import type { Call } from "../http/router.js";

/** Audiences a Graph token may carry: the resource URL or Graph's well-known app id. */
export const graphAudiences = ["https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000"];

const GRAPH_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

/** What the Graph subset counts (exposed at `GET /_emulator/graph`). */
export interface GraphCounters {
  requests: number;
  unauthorized: number;
  installs: number;
  uninstalls: number;
  conflicts: number;
  notFound: number;
  badRequests: number;
  throttled: number;
  violations: number;
}

export function newGraphCounters(): GraphCounters {
  return {
    requests: 0,
    unauthorized: 0,
    installs: 0,
    uninstalls: 0,
    conflicts: 0,
    notFound: 0,
    badRequests: 0,
    throttled: 0,
    violations: 0,
  };
}

/** A refusal as Graph writes it: `{error:{code,message,innerError:{date,request-id,client-request-id}}}`. */
export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "GraphError";
  }
}

function ids(call: Call): { requestId: string; clientRequestId: string } {
  const requestId = randomUUID();
  const given = call.req.headers["client-request-id"];
  return { requestId, clientRequestId: typeof given === "string" && given ? given : requestId };
}

function write(res: ServerResponse, status: number, text: string | undefined, headers: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  if (text === undefined) {
    res.writeHead(status, { "content-length": 0, ...headers });
    res.end();
    return;
  }
  res.writeHead(status, { "content-type": GRAPH_TYPE, "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Answer a Graph call: a JSON body, or no body when `value` is undefined. */
export function sendGraph(call: Call, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const { requestId, clientRequestId } = ids(call);
  const all = { "request-id": requestId, "client-request-id": clientRequestId, ...headers };
  write(call.res, status, value === undefined ? undefined : JSON.stringify(value), all);
}

/** Answer a GraphError. */
export function sendGraphError(call: Call, err: GraphError): void {
  const { requestId, clientRequestId } = ids(call);
  const body = {
    error: {
      code: err.code,
      message: err.message,
      innerError: { date: new Date().toISOString().slice(0, 19), "request-id": requestId, "client-request-id": clientRequestId },
    },
  };
  write(call.res, err.status, JSON.stringify(body), { "request-id": requestId, "client-request-id": clientRequestId, ...err.headers });
}

/**
 * Who calls: the tenant index the token was issued for, or -1 when auth is off (any tenant).
 * Graph tokens are per tenant: a token for one tenant does not see another's directory.
 */
export interface GraphCaller {
  tenant: number;
}

function tokenClaims(header: string | undefined): { aud: string; tid: string } | undefined {
  if (!header?.startsWith("Bearer ")) return undefined;
  try {
    const payload = decodeJwt(header.slice(7));
    return { aud: typeof payload.aud === "string" ? payload.aud : "", tid: typeof payload["tid"] === "string" ? payload["tid"] : "" };
  } catch {
    return undefined;
  }
}

/**
 * Check the bearer token of a Graph call: issued by the emulator's token endpoint for scope
 * `https://graph.microsoft.com/.default` and for a tenant of the organisation. Throws a 401
 * GraphError (InvalidAuthenticationToken) otherwise.
 */
export async function authorizeGraph(ctx: EmulatorContext, call: Call): Promise<GraphCaller> {
  if (!ctx.auth.enabled) return { tenant: -1 };
  const header = call.req.headers.authorization;
  if (!header) throw new GraphError(401, "InvalidAuthenticationToken", "Access token is empty.");
  const valid = await ctx.auth.check(header, graphAudiences);
  const claims = tokenClaims(header);
  if (!valid || !claims) {
    const audience = claims && !graphAudiences.includes(claims.aud);
    throw new GraphError(
      401,
      "InvalidAuthenticationToken",
      audience
        ? `Access token validation failure. Invalid audience (${claims.aud}); ask the token endpoint for scope https://graph.microsoft.com/.default.`
        : "Access token validation failure. Get a token from the emulator's token endpoint.",
    );
  }
  const tenant = ctx.org.tenantByIdOrDomain(claims.tid);
  if (!tenant) {
    throw new GraphError(
      401,
      "InvalidAuthenticationToken",
      `The token was issued for tenant ${claims.tid}, which is not a tenant of this organisation; Graph tokens are per tenant: ask ${ctx.urls.base}/{tenantId}/oauth2/v2.0/token.`,
    );
  }
  return { tenant: tenant.index };
}

/** Whether a caller may see a resource of tenant `tenant` (Graph answers 404 across tenants). */
export function sameTenant(caller: GraphCaller, tenant: number): boolean {
  return caller.tenant < 0 || caller.tenant === tenant;
}

/** Count and answer a thrown GraphError (anything else is the server's 500). */
export function graphHandler(
  ctx: EmulatorContext,
  counters: GraphCounters,
  fn: (call: Call, caller: GraphCaller) => void | Promise<void>,
): (call: Call) => Promise<void> {
  return async (call) => {
    counters.requests++;
    try {
      const caller = await authorizeGraph(ctx, call);
      await fn(call, caller);
    } catch (err) {
      if (!(err instanceof GraphError)) throw err;
      if (err.status === 401) counters.unauthorized++;
      else if (err.status === 404) counters.notFound++;
      else if (err.status === 400) counters.badRequests++;
      else if (err.status === 409) counters.conflicts++;
      sendGraphError(call, err);
    }
  };
}
