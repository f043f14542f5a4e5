import type { Dispatcher } from "undici";
import type { Clock } from "../clock.js";
import type { TrustedHosts } from "../config/trusted-hosts.js";
import { type Logger, sanitize } from "../log.js";
import {
  type BatchConnector,
  type BatchKind,
  type BatchRequest,
  type BatchState,
  batchFailedPath,
  batchOperationPath,
  batchStartPath,
  type FailedEntriesPage,
  readBatchState,
  readFailedEntries,
  readOperationId,
} from "./batch.js";
import type {
  ActivityResource,
  ConnectorClient,
  ConversationParameters,
  ConversationResource,
  MembersPage,
  MembersPageRequest,
  OutgoingActivity,
  TeamChannel,
  TeamDetails,
  TeamsChannelAccount,
} from "./client.js";
import { parseErrorBody } from "./error-body.js";
import { ConnectorError, type ConnectorOperation } from "./errors.js";
import { networkFacts } from "./network-error.js";
import {
  readActivityResource,
  readConversationResource,
  readMember,
  readMembersPage,
  readTeamChannels,
  readTeamDetails,
} from "./responses.js";
import { parseRetryAfter } from "./retry-after.js";
import type { TokenProvider } from "./tokens.js";
import { exchange, type HttpAnswer, TransportFailure } from "./transport.js";
import {
  activitiesPath,
  activityPath,
  conversationsPath,
  memberPath,
  pagedMembersPath,
  parseServiceUrl,
  type ServiceBase,
  teamChannelsPath,
  teamPath,
} from "./urls.js";

export interface HttpConnectorClientDeps {
  /** The pooled keep-alive Agent (transport.ts `createHttpAgent`). */
  dispatcher: Dispatcher;
  tokens: TokenProvider;
  /** Which serviceUrls may receive traffic and tokens (config/trusted-hosts.ts). */
  isTrusted: TrustedHosts;
  /** For Retry-After dates. */
  clock: Clock;
  logger?: Logger | undefined;
  /** Default `Herald`. */
  userAgent?: string | undefined;
  /** Run by `close()`, e.g. closing the Agent the factory created for this client. */
  onClose?: (() => Promise<void>) | undefined;
}

const JSON_TYPE = "application/json";
const JSON_BODY_TYPE = "application/json; charset=utf-8";
/** serviceUrls are few (one per Connector region); the bound only guards against a flood of odd ones. */
const MAX_CACHED_BASES = 1024;

type Read<T> = (json: unknown) => T | undefined;
const readDeleted: Read<true> = () => true;

/**
 * The Connector over undici's pooled keep-alive HTTP. Per request it checks the serviceUrl
 * against the trusted hosts (cached per serviceUrl) before asking for a token, joins the API path
 * to the serviceUrl's own path, and reads the answer in full so the connection returns to the pool.
 */
export class HttpConnectorClient implements ConnectorClient, BatchConnector {
  private readonly bases = new Map<string, ServiceBase | null>();
  private readonly userAgent: string;
  private lastToken: string | undefined;
  private lastBearer = "";

  constructor(private readonly deps: HttpConnectorClientDeps) {
    this.userAgent = deps.userAgent ?? "Herald";
  }

  createConversation(serviceUrl: string, params: ConversationParameters, signal?: AbortSignal): Promise<ConversationResource> {
    return this.call(
      "createConversation",
      serviceUrl,
      "POST",
      conversationsPath(),
      params,
      signal,
      readConversationResource,
      "the body has no conversation id",
    );
  }

  sendToConversation(
    serviceUrl: string,
    conversationId: string,
    activity: OutgoingActivity,
    signal?: AbortSignal,
  ): Promise<ActivityResource> {
    return this.call("sendToConversation", serviceUrl, "POST", activitiesPath(conversationId), activity, signal, readActivityResource, "");
  }

  replyToActivity(
    serviceUrl: string,
    conversationId: string,
    activityId: string,
    activity: OutgoingActivity,
    signal?: AbortSignal,
  ): Promise<ActivityResource> {
    const body = activity.replyToId === undefined ? { ...activity, replyToId: activityId } : activity;
    return this.call(
      "replyToActivity",
      serviceUrl,
      "POST",
      activityPath(conversationId, activityId),
      body,
      signal,
      readActivityResource,
      "",
    );
  }

  updateActivity(
    serviceUrl: string,
    conversationId: string,
    activityId: string,
    activity: OutgoingActivity,
    signal?: AbortSignal,
  ): Promise<ActivityResource> {
    return this.call(
      "updateActivity",
      serviceUrl,
      "PUT",
      activityPath(conversationId, activityId),
      activity,
      signal,
      readActivityResource,
      "",
    );
  }

  async deleteActivity(serviceUrl: string, conversationId: string, activityId: string, signal?: AbortSignal): Promise<void> {
    await this.call("deleteActivity", serviceUrl, "DELETE", activityPath(conversationId, activityId), undefined, signal, readDeleted, "");
  }

  getPagedMembers(serviceUrl: string, conversationId: string, page: MembersPageRequest = {}, signal?: AbortSignal): Promise<MembersPage> {
    const path = pagedMembersPath(conversationId, page.pageSize, page.continuationToken);
    return this.call("getPagedMembers", serviceUrl, "GET", path, undefined, signal, readMembersPage, "the body is not {members: [...]}");
  }

  getMember(serviceUrl: string, conversationId: string, memberId: string, signal?: AbortSignal): Promise<TeamsChannelAccount> {
    return this.call(
      "getMember",
      serviceUrl,
      "GET",
      memberPath(conversationId, memberId),
      undefined,
      signal,
      readMember,
      "the body is not a member with an id",
    );
  }

  getTeamDetails(serviceUrl: string, teamId: string, signal?: AbortSignal): Promise<TeamDetails> {
    return this.call(
      "getTeamDetails",
      serviceUrl,
      "GET",
      teamPath(teamId),
      undefined,
      signal,
      readTeamDetails,
      "the body is not a team with an id",
    );
  }

  getTeamChannels(serviceUrl: string, teamId: string, signal?: AbortSignal): Promise<TeamChannel[]> {
    return this.call(
      "getTeamChannels",
      serviceUrl,
      "GET",
      teamChannelsPath(teamId),
      undefined,
      signal,
      readTeamChannels,
      "the body is not {conversations: [...]}",
    );
  }

  /** `POST /v3/batch/conversation/{users|channels}` (batch.ts). */
  startBatch(serviceUrl: string, kind: BatchKind, request: BatchRequest, signal?: AbortSignal): Promise<string> {
    return this.call(
      "startBatch",
      serviceUrl,
      "POST",
      batchStartPath(kind),
      request,
      signal,
      readOperationId,
      "the body has no operation id",
    );
  }

  /** `GET /v3/batch/conversation/{operationId}`. */
  getBatchState(serviceUrl: string, operationId: string, signal?: AbortSignal): Promise<BatchState> {
    const now = this.deps.clock.now();
    return this.call(
      "getBatchState",
      serviceUrl,
      "GET",
      batchOperationPath(operationId),
      undefined,
      signal,
      (json) => readBatchState(json, now),
      "the body has no state",
    );
  }

  /** `GET /v3/batch/conversation/failedentries/{operationId}?continuationToken=`. */
  getBatchFailedEntries(
    serviceUrl: string,
    operationId: string,
    continuationToken?: string,
    signal?: AbortSignal,
  ): Promise<FailedEntriesPage> {
    return this.call(
      "getBatchFailedEntries",
      serviceUrl,
      "GET",
      batchFailedPath(operationId, continuationToken),
      undefined,
      signal,
      readFailedEntries,
      "the body is not {failedEntryResponses: [...]}",
    );
  }

  /** `DELETE /v3/batch/conversation/{operationId}`. */
  async cancelBatch(serviceUrl: string, operationId: string, signal?: AbortSignal): Promise<void> {
    await this.call("cancelBatch", serviceUrl, "DELETE", batchOperationPath(operationId), undefined, signal, readDeleted, "");
  }

  /** Close the pooled connections (when the factory created the Agent). */
  async close(): Promise<void> {
    await this.deps.onClose?.();
  }

  private async call<T>(
    operation: ConnectorOperation,
    serviceUrl: string,
    method: Dispatcher.HttpMethod,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    read: Read<T>,
    missing: string,
  ): Promise<T> {
    const base = this.base(serviceUrl);
    if (!base) throw new ConnectorError({ kind: "untrusted", source: "connector", operation, url: serviceUrl });
    if (signal?.aborted) throw aborted(operation, serviceUrl, signal, false);
    const token = await this.deps.tokens.getToken(signal);
    // A cached token comes back even for an aborted signal: stop here, before anything is sent.
    if (signal?.aborted) throw aborted(operation, serviceUrl, signal, false);

    const headers: Record<string, string> =
      body === undefined
        ? { accept: JSON_TYPE, "user-agent": this.userAgent }
        : { accept: JSON_TYPE, "content-type": JSON_BODY_TYPE, "user-agent": this.userAgent };
    if (token !== undefined) headers.authorization = this.bearer(token);

    let answer: HttpAnswer;
    try {
      answer = await exchange(this.deps.dispatcher, {
        origin: base.origin,
        path: base.prefix + path,
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
    } catch (failure) {
      // Whether the request had gone onto a connection decides whether Teams may have acted on it.
      const written = failure instanceof TransportFailure ? failure.written : true;
      const error = failure instanceof TransportFailure ? failure.cause : failure;
      if (signal?.aborted) throw aborted(operation, serviceUrl, signal, written);
      const facts = networkFacts(error);
      throw new ConnectorError({
        kind: facts.kind,
        source: "connector",
        operation,
        url: serviceUrl,
        timeoutPhase: facts.timeoutPhase,
        detail: facts.detail,
        // Not written: nothing reached Teams whatever the error says (a reset during the TLS
        // handshake, the pool closing). Written: whatever the error (a reset, a timeout, even an
        // ETIMEDOUT that networkFacts reads as a connect timeout), Teams may have acted on it.
        mayHaveArrived: written,
        cause: error,
      });
    }

    const { status } = answer;
    if (status >= 200 && status < 300) {
      const value = read(parseJson(answer.body));
      if (value === undefined)
        throw new ConnectorError({ kind: "invalid-response", source: "connector", operation, url: serviceUrl, status, detail: missing });
      return value;
    }
    if (status === 401 && token !== undefined) this.deps.tokens.invalidate?.(token);
    const facts = parseErrorBody(answer.body);
    throw new ConnectorError({
      kind: "http",
      source: "connector",
      operation,
      url: serviceUrl,
      status,
      code: facts.code,
      subCode: facts.subCode,
      errorCode: facts.errorCode,
      serverMessage: facts.message,
      retryAfterMs: parseRetryAfter(answer.retryAfter, this.deps.clock.now()),
    });
  }

  /** The split serviceUrl, or null when it is not trusted; remembered per serviceUrl (TrustedHosts is pure). */
  private base(serviceUrl: string): ServiceBase | null {
    const known = this.bases.get(serviceUrl);
    if (known !== undefined) return known;
    const parsed = this.deps.isTrusted(serviceUrl) ? (parseServiceUrl(serviceUrl) ?? null) : null;
    if (parsed === null)
      this.deps.logger?.warn({ serviceUrl: sanitize(serviceUrl) }, "refused an untrusted serviceUrl: no token or request was sent to it");
    if (this.bases.size >= MAX_CACHED_BASES) this.bases.clear();
    this.bases.set(serviceUrl, parsed);
    return parsed;
  }

  private bearer(token: string): string {
    if (token !== this.lastToken) {
      this.lastToken = token;
      this.lastBearer = `Bearer ${token}`;
    }
    return this.lastBearer;
  }
}

function aborted(operation: ConnectorOperation, url: string, signal: AbortSignal, mayHaveArrived: boolean): ConnectorError {
  return new ConnectorError({ kind: "aborted", source: "connector", operation, url, mayHaveArrived, cause: signal.reason });
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
