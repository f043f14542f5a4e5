import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import { type CloudName, clouds } from "../config/clouds.js";
import { maxRetryAfterHoldMs, parseRetryAfter } from "../connector/retry-after.js";
import { exchange, TransportFailure } from "../connector/transport.js";
import type { Logger } from "../log.js";
import { GraphError, readGraphError } from "./errors.js";
import type { GraphTokens } from "./tokens.js";

/** The Graph version Herald speaks. */
export const GRAPH_VERSION = "v1.0";

/** One answer of Graph: status and parsed JSON body (undefined when empty). */
export interface GraphAnswer {
  status: number;
  json: unknown;
}

export interface GraphRequestOptions {
  body?: unknown;
  signal?: AbortSignal | undefined;
  /**
   * How many times a 429/503 is waited out (its Retry-After) and tried again before the
   * GraphError is thrown. Default 4. Callers with their own queue (the install step) pass 0 and
   * reschedule the work instead of holding it.
   */
  throttleRetries?: number | undefined;
  /** Statuses that are answers, not errors (e.g. 409 for an install). */
  accept?: readonly number[] | undefined;
}

export interface GraphClientDeps {
  dispatcher: Dispatcher;
  tokens: GraphTokens;
  clock: Clock;
  logger?: Logger | undefined;
  /** Told when Graph throttles a tenant (metrics, the install limiter). */
  onThrottle?: ((tenantId: string, untilMs: number) => void) | undefined;
}

/** Base URL (without version) and whether a URL may receive a Graph token. */
export interface GraphHost {
  base: string;
  /** Only URLs under `base`'s origin: a next link or an address from elsewhere never gets the token. */
  trusts(url: string): boolean;
}

/**
 * Where Graph is: HERALD_GRAPH_URL (validated at start-up: https, or http for a host in
 * HERALD_TRUSTED_HOSTS) else the cloud's Graph host (protocol reference, section 4). A token
 * goes only to that origin.
 */
export function graphHost(cloud: CloudName, graphUrl: string | undefined): GraphHost {
  const base = (graphUrl ?? clouds[cloud].graphUrl).replace(/\/+$/, "");
  const origin = new URL(base).origin;
  return {
    base,
    trusts(url) {
      try {
        const u = new URL(url);
        return u.origin === origin && (u.protocol === "https:" || u.protocol === "http:");
      } catch {
        return false;
      }
    },
  };
}

/** Backoff when Graph throttles without a Retry-After: 1 s, 2 s, 4 s ... capped at 30 s. */
const backoffMs = (attempt: number): number => Math.min(30_000, 1_000 * 2 ** attempt);

/**
 * A small Microsoft Graph client over the shared undici Agent: per-tenant tokens, a trusted
 * host check before any token leaves, `@odata.nextLink` paging, and throttling honoured per
 * tenant: a 429 or 503 blocks every Graph request of that tenant until its Retry-After (other
 * tenants go on), and the request is tried again after it (up to `throttleRetries`). A 401 makes
 * it fetch a new token once. Every failure is a GraphError carrying Graph's `error.code`.
 */
export class GraphClient {
  private readonly blockedUntil = new Map<string, number>();

  constructor(
    readonly host: GraphHost,
    private readonly deps: GraphClientDeps,
  ) {}

  /** The absolute URL of a versioned path (`/users/{id}`). */
  url(path: string): string {
    return `${this.host.base}/${GRAPH_VERSION}${path.startsWith("/") ? path : `/${path}`}`;
  }

  /** Until when Graph throttled this tenant (ms on the client's clock), or 0. */
  throttledUntil(tenantId: string): number {
    return this.blockedUntil.get(tenantId.toLowerCase()) ?? 0;
  }

  /** One request (path relative to `/v1.0`, or an absolute URL such as a next link). */
  async request(
    tenantId: string,
    method: Dispatcher.HttpMethod,
    pathOrUrl: string,
    options: GraphRequestOptions = {},
  ): Promise<GraphAnswer> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : this.url(pathOrUrl);
    const operation = `${method} ${new URL(url).pathname.replace(/^\/v1\.0/, "")}`;
    if (!this.host.trusts(url))
      throw new GraphError({
        heraldCode: "HERALD_E_GRAPH_UNTRUSTED_HOST",
        operation,
        detail: `${new URL(url).origin} is not the configured Graph (${this.host.base}); no token was sent. Check HERALD_GRAPH_URL.`,
      });
    const retries = options.throttleRetries ?? 4;
    let refreshed = false;
    for (let attempt = 0; ; attempt++) {
      await this.waitForTenant(tenantId, options.signal);
      const token = await this.token(tenantId, operation, options.signal);
      const answer = await this.send(url, method, token, options, operation);
      if (answer.status === 401 && token && !refreshed) {
        refreshed = true;
        this.deps.tokens.invalidate(tenantId, token);
        continue;
      }
      if (answer.status >= 200 && answer.status < 300) return { status: answer.status, json: parseJson(answer.body) };
      if (options.accept?.includes(answer.status)) return { status: answer.status, json: parseJson(answer.body) };
      const facts = readGraphError(answer.body);
      // At most 30 minutes: the tenant's Graph calls (and its installs, refusal.ts) wait it out.
      const said = parseRetryAfter(answer.retryAfter, this.deps.clock.now());
      const retryAfterMs = said === undefined ? undefined : Math.min(said, maxRetryAfterHoldMs);
      const error = new GraphError({
        heraldCode: "HERALD_E_GRAPH_HTTP",
        operation,
        status: answer.status,
        graphCode: facts.code,
        serverMessage: facts.message,
        retryAfterMs: retryAfterMs ?? (answer.status === 429 || answer.status === 503 ? backoffMs(attempt) : undefined),
      });
      if (!error.throttled) throw error;
      const until = this.deps.clock.now() + (error.retryAfterMs ?? 0);
      this.block(tenantId, until);
      this.deps.logger?.warn(
        { tenantId, operation, status: answer.status, waitMs: error.retryAfterMs },
        "Graph throttled; waiting its Retry-After",
      );
      if (attempt >= retries) throw error;
    }
  }

  /** GET a JSON object. */
  async get(tenantId: string, pathOrUrl: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const { json } = await this.request(tenantId, "GET", pathOrUrl, { signal });
    if (typeof json !== "object" || json === null || Array.isArray(json))
      throw new GraphError({ heraldCode: "HERALD_E_GRAPH_INVALID_RESPONSE", operation: `GET ${pathOrUrl}`, detail: "not a JSON object" });
    return json as Record<string, unknown>;
  }

  /**
   * A collection page by page, following `@odata.nextLink` as given (only to the trusted Graph
   * origin). Yields each page's `value`: the caller holds one page at a time.
   */
  async *pages(tenantId: string, path: string, signal?: AbortSignal): AsyncGenerator<Record<string, unknown>[]> {
    let next: string | undefined = path;
    while (next !== undefined) {
      const page = await this.get(tenantId, next, signal);
      const value = Array.isArray(page["value"]) ? page["value"] : [];
      yield value.filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null);
      const link = page["@odata.nextLink"];
      next = typeof link === "string" && link !== "" ? link : undefined;
    }
  }

  private block(tenantId: string, until: number): void {
    const key = tenantId.toLowerCase();
    if (until > (this.blockedUntil.get(key) ?? 0)) this.blockedUntil.set(key, until);
    this.deps.onThrottle?.(tenantId, until);
  }

  private async waitForTenant(tenantId: string, signal: AbortSignal | undefined): Promise<void> {
    const wait = this.throttledUntil(tenantId) - this.deps.clock.now();
    if (wait > 0) await this.deps.clock.sleep(wait, signal);
  }

  private async token(tenantId: string, operation: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    try {
      return await this.deps.tokens.getToken(tenantId, signal);
    } catch (cause) {
      throw new GraphError({
        heraldCode: "HERALD_E_GRAPH_TOKEN",
        operation,
        detail: `no Graph token for tenant ${tenantId}: ${(cause as Error).message}`,
        cause,
      });
    }
  }

  private async send(
    url: string,
    method: Dispatcher.HttpMethod,
    token: string | undefined,
    options: GraphRequestOptions,
    operation: string,
  ): Promise<Awaited<ReturnType<typeof exchange>>> {
    const u = new URL(url);
    const headers: Record<string, string> = { accept: "application/json" };
    if (token) headers["authorization"] = `Bearer ${token}`;
    if (options.body !== undefined) headers["content-type"] = "application/json";
    try {
      return await exchange(this.deps.dispatcher, {
        origin: u.origin,
        path: `${u.pathname}${u.search}`,
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (failure) {
      const cause = failure instanceof TransportFailure ? failure.cause : failure;
      const aborted = options.signal?.aborted === true;
      throw new GraphError({
        heraldCode: aborted ? "HERALD_E_GRAPH_ABORTED" : "HERALD_E_GRAPH_NETWORK",
        operation,
        detail: (cause as Error).message,
        cause,
      });
    }
  }
}

function parseJson(body: string): unknown {
  if (body.trim() === "") return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
