import type { Clock } from "../../clock.js";
import type { ConnectorClient, OutgoingActivity } from "../../connector/client.js";
import { channelThread, personalConversation } from "../../connector/conversation-params.js";
import { ConnectorError } from "../../connector/errors.js";
import type { Logger } from "../../log.js";
import type { ConversationStore } from "../../store/ports.js";
import type { DeliveryConfig } from "../config.js";
import { graphIdOf, type Installer } from "../install/installer.js";
import { holdAfter429, type RateLimiter } from "../limits/index.js";
import type { MessageActivity } from "../message/activity.js";
import { renderActivity } from "../message/render.js";
import { deliveryKeyString, type Job, type JobResult, type LeasedKey, leasedKey } from "../model.js";
import { type Policies, tenantBucket } from "../policies.js";
import { failureLabel } from "../retry.js";
import { authenticatedAnswer, type CredentialGate, isCredentialFailure } from "./credentials.js";
import type { MessageCache, MessageVersion } from "./messages.js";
import { carriedOf, duplicateResult, judge, resultOf, retryAfterHold } from "./outcome.js";
import type { RecentRequests } from "./recent.js";
import { type Step, stepBucket } from "./steps.js";
import type { SurveyHook } from "./survey-hook.js";

export interface ExecutorDeps {
  connector: ConnectorClient;
  conversations: ConversationStore;
  messages: MessageCache;
  limiter: RateLimiter;
  policies: Policies;
  recent: RecentRequests;
  clock: Clock;
  config: Readonly<DeliveryConfig>;
  logger: Logger;
  /** Math.random in production. */
  random: () => number;
  /** BotDisabledByAdmin: stop the tenant until a user of it interacts again. */
  pauseTenant(tenantId: string, code: string): void;
  isPaused(tenantId: string): boolean;
  /** Token endpoint and Connector 401 failures pause all sending instead of failing rows. */
  credentials: CredentialGate;
  /** Work started on the side (conversation status updates) that `stop` waits for. */
  track(p: Promise<unknown>): void;
  /** DeliveryStore.claimChat for this process: the seq of another row that already has the chat, if one does. */
  claimChat(key: LeasedKey, chat: { conversationId: string; serviceUrl: string }): Promise<{ duplicateOf?: number }>;
  /** Proactive installation through Graph before a user's chat is created (HERALD_AUTO_INSTALL). */
  installer?: Installer | undefined;
  /** Starts or queues surveys (src/surveys); without it survey rows fail. */
  surveys?: SurveyHook | undefined;
}

/** Graph failures that may pass (5xx, network) are tried this many times before the row fails. */
const MAX_INSTALL_ATTEMPTS = 5;

const isoAt = (ms: number): string => new Date(ms).toISOString();

/** What one attempt did with the credential gate: entered it (when), got an answer, hit a credential failure. */
interface Trace {
  entered: number | undefined;
  answered: boolean;
  credential: boolean;
  /** A Connector request left (whatever came back): what the lane's warm-up waits for. */
  requested: boolean;
  /** Its number from the credential gate as it left (CredentialGate.depart). */
  departure: number | undefined;
}

/** A Connector request is about to leave for the step (call right before it). */
function leave(trace: Trace, gate: CredentialGate): void {
  trace.requested = true;
  trace.departure = gate.depart();
}

/** What one step ended with: the job's result, the job again for its next step, or nothing (recalled meanwhile). */
export type StepOutcome = { done: JobResult } | { next: Job } | { dropped: true };
/** A step's outcome, and whether a Connector request left for it (see Warmup). */
export type RunOutcome = StepOutcome & { requested: boolean };

/**
 * Performs one step of a job against Teams and turns what happened into the job's result:
 * render the message for the recipient, wait until the row is durably in flight (sends only),
 * call the Connector, and on failure consult the retry table (outcome.ts). Permanent answers
 * update the conversation (blocked, uninstalled) or pause the tenant, so the next broadcast does
 * not call Teams for them; a 429 blocks exactly the bucket it came from, until its Retry-After.
 */
export class Executor {
  /** Buckets Teams throttled (bucket key → until, ms), checked again right before a request leaves. */
  private readonly blocks = new Map<string, number>();
  /** The bot's account as activities name it (`from`), built once: every send carries it. */
  private readonly botAccount: Readonly<{ id: string }> | undefined;

  constructor(private readonly deps: ExecutorDeps) {
    this.botAccount = deps.config.appId ? Object.freeze({ id: `28:${deps.config.appId}` }) : undefined;
  }

  /**
   * `entered`: the lane already passed the credential gate for this job at that time (with a
   * tenant limit it marks a send's row before the tenant's slot, and must not mark a row the gate
   * would turn away: a crash between the mark and the release would report a never-sent row
   * `unknown`).
   */
  async run(job: Job, step: Step, markInflight: () => Promise<boolean>, signal?: AbortSignal, entered?: number): Promise<RunOutcome> {
    const gate = this.deps.credentials;
    const trace: Trace = { entered, answered: false, credential: false, requested: false, departure: undefined };
    const out = await this.attempt(job, step, markInflight, trace, signal);
    if (trace.answered) {
      // Teams answered without a credential problem: the credentials work (credentials.ts).
      if (trace.departure !== undefined) gate.succeeded(trace.departure);
      gate.settled(deliveryKeyString(job));
    } else if (!trace.credential && trace.entered !== undefined) {
      // Passed the gate but ended without an answer (recalled, render failed, held back, network):
      // if this was the probe, another may go now rather than after probeTimeoutMs.
      gate.lost(trace.entered);
    }
    return { ...out, requested: trace.requested };
  }

  private async attempt(
    job: Job,
    step: Step,
    markInflight: () => Promise<boolean>,
    trace: Trace,
    signal?: AbortSignal,
  ): Promise<StepOutcome> {
    const { clock, connector } = this.deps;
    const started = clock.now();
    const attempts = job.attempts + 1;
    const carried = carriedOf(job);
    const key = leasedKey(job);
    const serviceUrl = job.serviceUrl ?? this.deps.config.defaultServiceUrl;
    const gate = this.deps.credentials;
    // Sending is paused for the credentials: the row goes back, due when the pause may end. For a
    // send this comes before the row is marked in flight (no mark + release pair at a pause's end).
    if (trace.entered === undefined) {
      if (!gate.enter(started)) return { done: { ...key, kind: "release", dueAt: gate.retryAt, ...carried } };
      trace.entered = started;
    }
    try {
      switch (step) {
        case "create": {
          const installed = await this.install(job, attempts, started, signal);
          if (installed) return installed;
          leave(trace, gate);
          const res = await connector.createConversation(
            serviceUrl,
            personalConversation({ tenantId: job.tenantId, user: job.targetId ?? "", bot: this.bot() }),
            signal,
          );
          trace.answered = true;
          const next: Job = {
            ...job,
            conversationId: res.id,
            serviceUrl: res.serviceUrl ?? serviceUrl,
            attempts,
            firstAttemptAt: job.firstAttemptAt ?? started,
          };
          this.remember(next);
          const duplicate = await this.duplicateOf(next);
          if (duplicate === "retry") return { done: { ...key, kind: "release", dueAt: clock.now() + this.deps.config.pollMs } };
          if (duplicate !== undefined) return { done: duplicateResult(next, duplicate, attempts) };
          return { next };
        }
        case "send":
        case "createThread": {
          // The cached version without a turn of the microtask queue (get is async), as get would answer.
          const mv = this.deps.messages.peek(job.notificationId) ?? (await this.deps.messages.get(job.notificationId));
          if (!mv) return { done: { ...key, kind: "release" } };
          let activity: MessageActivity;
          if (mv.survey) {
            // A survey's first question, or nothing now when the person is answering another survey.
            const offered = await this.offerSurvey(mv, job, serviceUrl);
            if ("done" in offered) return offered;
            if ("queued" in offered) {
              if (!(await markInflight())) return { dropped: true };
              return { done: { ...key, kind: "sent", attempts, activityId: undefined, version: mv.version, ...carried } };
            }
            // Addressed in place below: a copy of the survey's own.
            activity = { ...offered.ask };
          } else activity = this.render(mv, job);
          if (!(await markInflight())) return { dropped: true };
          // A 429 or a pause may have arrived while the row was being marked: the request must not leave now.
          const until = this.blockedUntil(job, step);
          if (until !== undefined || this.deps.isPaused(job.tenantId))
            return { done: { ...key, kind: "release", dueAt: until, ...carried } };
          if (step === "send") {
            leave(trace, gate);
            const res = await connector.sendToConversation(
              serviceUrl,
              job.conversationId ?? "",
              this.address(activity, job.conversationId),
              signal,
            );
            trace.answered = true;
            // A conversation that had blocked the bot took the message: the user unblocked it.
            if (job.retryBlocked && job.conversationId)
              this.setStatus(job.conversationId, "active", "HERALD_UNBLOCKED", isoAt(clock.now()));
            return { done: { ...key, kind: "sent", attempts, activityId: res.id, version: mv.version, ...carried } };
          }
          leave(trace, gate);
          const res = await connector.createConversation(
            serviceUrl,
            channelThread({
              channelId: job.targetId ?? "",
              activity: this.address(activity, undefined),
              tenantId: job.tenantId || undefined,
              bot: this.bot(),
            }),
            signal,
          );
          trace.answered = true;
          return {
            done: {
              ...key,
              kind: "sent",
              attempts,
              activityId: res.activityId,
              version: mv.version,
              conversationId: res.id,
              serviceUrl: res.serviceUrl ?? serviceUrl,
            },
          };
        }
        case "edit": {
          const mv = await this.deps.messages.get(job.notificationId);
          if (!mv) return { done: { ...key, kind: "release" } };
          const activity = { ...this.address(this.render(mv, job), job.conversationId), id: job.activityId };
          leave(trace, gate);
          await connector.updateActivity(serviceUrl, job.conversationId ?? "", job.activityId ?? "", activity, signal);
          trace.answered = true;
          return { done: { ...key, kind: "edited", version: mv.version, attempts } };
        }
        case "delete":
          leave(trace, gate);
          await connector.deleteActivity(serviceUrl, job.conversationId ?? "", job.activityId ?? "", signal);
          trace.answered = true;
          return { done: { ...key, kind: "deleted", attempts } };
      }
    } catch (e) {
      // Not a delivery outcome: no attempt used, the row waits for the credentials (credentials.ts).
      // A Connector 401 only until the Connector is seen accepting the credentials for others (credentials.ts).
      if (isCredentialFailure(e)) {
        if (e.source === "token" || gate.judge401(deliveryKeyString(key)) === "credentials") {
          trace.credential = true;
          gate.failed(e, trace.departure ?? gate.depart());
          return { done: { ...key, kind: "release", dueAt: e.source === "token" ? gate.retryAt : gate.retryAtFor401, ...carried } };
        }
        // The credentials work for other requests, not for this conversation: the retry table's 401 rule.
        const now = clock.now();
        const error = {
          code: failureLabel({ status: 401, code: e.code, subCode: e.subCode }),
          message:
            `The Connector refused the bot's token for this conversation (401) although it accepted it for other requests, so the bot's credentials are fine: the bot may not be allowed to reach this conversation (another cloud's or tenant's service URL, an app registration Teams does not accept there). ${e.message}`.slice(
              0,
              600,
            ),
        };
        return {
          done: resultOf(
            { ...job, firstAttemptAt: job.firstAttemptAt ?? started },
            job.op,
            { kind: "failed", error },
            attempts,
            now,
            carried,
          ),
        };
      }
      // Evidence that the credentials work only from an answer given after the token was checked.
      if (authenticatedAnswer(e)) trace.answered = true;
      const now = clock.now();
      const verdict = judge(
        e,
        { attempt: attempts, firstAttemptAt: job.firstAttemptAt ?? started, now },
        this.deps.random,
        this.deps.config.retry,
        { step, inFlightPolicy: this.deps.config.inFlightPolicy },
      );
      if (verdict.kind === "aborted") return { done: { ...key, kind: "release", ...carried } };
      this.sideEffects(job, step, e, verdict.kind, now, verdict.kind === "retry" ? verdict : undefined);
      // A 429 is Teams refusing to look at the request, not a failed attempt: it does not use up the
      // attempts (the time bound still applies), so a busy tenant cannot make deliveries fail.
      const counted = verdict.kind === "retry" && verdict.throttled ? job.attempts : attempts;
      return { done: resultOf({ ...job, firstAttemptAt: job.firstAttemptAt ?? started }, job.op, verdict, counted, now, carried) };
    }
  }

  /**
   * Whether the job's next step is a proactive install through Graph (a `create` for a Graph
   * recipient with auto-install on). The lane runs that step apart (`runInstall`): it takes the
   * tenant's install budget only, never a message slot of the tenant (issue 15).
   */
  wantsInstall(job: Job): boolean {
    return this.deps.installer !== undefined && !!job.tenantId && graphIdOf(job) !== undefined;
  }

  /** The install step alone (see `wantsInstall`): the job with its chat, a wait, or its outcome. */
  async runInstall(job: Job, signal?: AbortSignal): Promise<StepOutcome> {
    const key = leasedKey(job);
    try {
      const out = await this.install(job, job.attempts + 1, this.deps.clock.now(), signal);
      return out ?? { done: { ...key, kind: "release", ...carriedOf(job) } };
    } catch (e) {
      this.deps.logger.warn({ err: (e as Error).message, notificationId: job.notificationId }, "the install step failed; trying later");
      return { done: { ...key, kind: "release", dueAt: this.deps.clock.now() + this.deps.config.pollMs, ...carriedOf(job) } };
    }
  }

  /**
   * The install step (install/installer.ts) for a user Herald has no chat with: the chat it
   * found or made, a wait, or the refusal as the row's outcome. Undefined: not a Graph recipient.
   */
  private async install(job: Job, attempts: number, started: number, signal?: AbortSignal): Promise<StepOutcome | undefined> {
    if (!this.deps.installer) return undefined;
    const key = leasedKey(job);
    const step = await this.deps.installer.prepare(job, signal);
    const first = { ...job, firstAttemptAt: job.firstAttemptAt ?? started };
    switch (step.kind) {
      case "skip":
        return undefined;
      case "wait": {
        // Graph's 429 is kept on the row while it waits (no attempt used); the tenant's own budget is not news.
        if (!step.error) return { done: { ...key, kind: "release", dueAt: step.until } };
        const now = this.deps.clock.now();
        const verdict = { kind: "retry" as const, delayMs: Math.max(0, step.until - now), error: step.error, throttled: true };
        return { done: resultOf(first, job.op, verdict, job.attempts, now, carriedOf(job)) };
      }
      case "retry": {
        const now = this.deps.clock.now();
        const verdict =
          attempts >= MAX_INSTALL_ATTEMPTS
            ? { kind: "failed" as const, error: step.error }
            : { kind: "retry" as const, delayMs: step.delayMs * 2 ** (attempts - 1), error: step.error, throttled: false };
        return { done: resultOf(first, job.op, verdict, attempts, now, carriedOf(job)) };
      }
      case "refused":
        return { done: resultOf(first, job.op, { kind: step.status, error: step.error }, attempts, this.deps.clock.now(), carriedOf(job)) };
      case "chat": {
        const next: Job = {
          ...first,
          conversationId: step.conversationId,
          serviceUrl: step.serviceUrl ?? job.serviceUrl,
          user: { ...job.user, aadObjectId: job.user?.aadObjectId ?? step.aadObjectId },
          attempts,
        };
        const duplicate = await this.duplicateOf(next);
        if (duplicate === "retry") return { done: { ...key, kind: "release", dueAt: this.deps.clock.now() + this.deps.config.pollMs } };
        if (duplicate !== undefined) return { done: duplicateResult(next, duplicate, attempts) };
        return { next };
      }
    }
  }

  /**
   * The same person named twice (Teams id and Entra object id) gets one chat from Teams: the row
   * that claims it first sends, any other ends as a duplicate. "retry" when the store failed.
   */
  private async duplicateOf(job: Job): Promise<number | "retry" | undefined> {
    try {
      const r = await this.deps.claimChat(leasedKey(job), {
        conversationId: job.conversationId ?? "",
        serviceUrl: job.serviceUrl ?? this.deps.config.defaultServiceUrl,
      });
      return r.duplicateOf;
    } catch (e) {
      this.deps.logger.warn(
        { err: (e as Error).message, notificationId: job.notificationId },
        "could not record a created chat; trying later",
      );
      return "retry";
    }
  }

  /** SurveyHook.offer for a survey row; a store failure puts the row back for a later attempt. */
  private async offerSurvey(
    mv: MessageVersion,
    job: Job,
    serviceUrl: string,
  ): Promise<{ ask: MessageActivity } | { queued: true } | { done: JobResult }> {
    const key = leasedKey(job);
    const hook = this.deps.surveys;
    const refuse = (code: string, message: string): { done: JobResult } => ({
      done: { ...key, kind: "final", status: "failed", attempts: job.attempts + 1, error: { code, message } },
    });
    if (!hook || !mv.survey) return refuse("HERALD_E_SURVEY_UNAVAILABLE", "This Herald process cannot run surveys.");
    if (job.kind === "channel" || !job.conversationId)
      return refuse("HERALD_E_SURVEY_NOT_PERSONAL", "A survey is asked in 1:1 chats; this recipient is a channel.");
    try {
      const offered = await hook.offer({
        notificationId: job.notificationId,
        seq: job.seq,
        tenantId: job.tenantId,
        conversationId: job.conversationId,
        serviceUrl,
        user: job.user,
        survey: mv.survey,
      });
      if ("refused" in offered) return refuse(offered.refused.code, offered.refused.message);
      return offered;
    } catch (e) {
      this.deps.logger.warn({ err: (e as Error).message, notificationId: job.notificationId }, "could not start a survey; trying later");
      return { done: { ...key, kind: "release", dueAt: this.deps.clock.now() + this.deps.config.pollMs } };
    }
  }

  /** This recipient's activity: a fresh object, the caller's to change (renderActivity copies even a fixed one). */
  private render(mv: MessageVersion, job: Job): MessageActivity {
    const u = job.user;
    return renderActivity(mv.prepared, {
      id: u?.id ?? (job.kind === "channel" ? job.targetId : undefined),
      aadObjectId: u?.aadObjectId,
      name: u?.name,
      givenName: u?.givenName,
      surname: u?.surname,
      locale: u?.locale,
      timezone: u?.timezone,
      tenantId: job.tenantId || undefined,
    });
  }

  /**
   * The rendered content plus the addressing Teams expects of a bot's activity, written into
   * `activity`: the caller's own (render's, a fresh one per recipient), not copied once more.
   */
  private address(activity: MessageActivity, conversationId: string | undefined): OutgoingActivity {
    const out = activity as OutgoingActivity;
    const bot = this.bot();
    if (bot) out.from = bot;
    if (conversationId !== undefined) out.conversation = { id: conversationId };
    return out;
  }

  private bot(): { id: string } | undefined {
    return this.botAccount;
  }

  /** A chat Herald created is stored, so the next broadcast to this user needs no create. */
  private remember(job: Job): void {
    const userId = job.user?.id ?? (job.targetId?.startsWith("29:") ? job.targetId : undefined);
    const bot = this.bot();
    if (!job.conversationId || !userId || !bot) return;
    const at = new Date(this.deps.clock.now()).toISOString();
    this.deps.track(
      this.deps.conversations
        .upsert({
          id: job.conversationId,
          kind: "personal",
          tenantId: job.tenantId,
          serviceUrl: job.serviceUrl ?? this.deps.config.defaultServiceUrl,
          channelId: "msteams",
          bot,
          user: { id: userId, name: job.user?.name, aadObjectId: job.user?.aadObjectId },
          locale: job.user?.locale,
          at,
        })
        .catch((e: unknown) =>
          this.deps.logger.warn({ err: (e as Error).message, conversationId: job.conversationId }, "could not store a created chat"),
        ),
    );
  }

  private sideEffects(
    job: Job,
    step: Step,
    e: unknown,
    kind: string,
    now: number,
    retry: { delayMs: number; throttled: boolean } | undefined,
  ): void {
    const code = e instanceof ConnectorError ? (e.subCode ?? e.code ?? String(e.status ?? "")) : "";
    const at = new Date(now).toISOString();
    const conversationId = job.kind === "channel" ? undefined : job.conversationId;
    if (kind === "blocked" && conversationId) this.setStatus(conversationId, "blocked", code, at);
    else if (kind === "notFound" && conversationId) this.setStatus(conversationId, "uninstalled", code, at);
    else if (kind === "tenantDisabled") this.deps.pauseTenant(job.tenantId, code);
    else if (retry?.throttled) this.throttled(job, step, now + retry.delayMs);
    else {
      // A 429 that ends the row (its Retry-After past the row's retry time bound): the row is not
      // retried, but Teams asked the bucket to wait, and every other row of it still has to.
      const until = retryAfterHold(e, now);
      if (until !== undefined) this.throttled(job, step, until);
    }
  }

  /**
   * Teams does not say whose limit a 429 is. The conversation's bucket is blocked until Retry-After;
   * the tenant's too unless this conversation had enough recent requests to exceed its own limit
   * (RecentRequests): a conversation with one or two requests a second cannot have.
   */
  private throttled(job: Job, step: Step, until: number): void {
    const bucket = stepBucket(this.deps.policies, step, job);
    const { policies, logger } = this.deps;
    const alone = !this.deps.recent.busy(bucket.key, this.deps.clock.now());
    const tenant = alone ? tenantBucket(policies, job.tenantId) : undefined;
    logger.warn(
      { tenantId: job.tenantId, bucket: bucket.key, tenant: tenant !== undefined, untilMs: until - this.deps.clock.now() },
      "Teams answered 429; its bucket waits out the Retry-After",
    );
    const keys = tenant ? [bucket.key, tenant.key] : [bucket.key];
    this.deps.track(holdAfter429(this.deps.limiter, keys, until, logger));
    for (const k of keys) this.blocks.set(k, Math.max(until, this.blocks.get(k) ?? 0));
  }

  /** Until when a 429 this process saw still holds the job's tenant or conversation, if it does. */
  private blockedUntil(job: Job, step: Step): number | undefined {
    if (this.blocks.size === 0) return undefined;
    const now = this.deps.clock.now();
    for (const [k, until] of this.blocks) if (until <= now) this.blocks.delete(k);
    const a = this.blocks.get(tenantBucket(this.deps.policies, job.tenantId).key);
    const b = this.blocks.get(stepBucket(this.deps.policies, step, job).key);
    const until = Math.max(a ?? 0, b ?? 0);
    return until > now ? until : undefined;
  }

  private setStatus(id: string, status: "active" | "blocked" | "uninstalled", code: string, at: string): void {
    this.deps.track(
      this.deps.conversations
        .setStatus(id, status, code, at)
        .catch((e: unknown) =>
          this.deps.logger.warn({ err: (e as Error).message, conversationId: id }, "could not update a conversation's status"),
        ),
    );
  }
}
