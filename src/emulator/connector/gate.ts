import type { EmulatorContext } from "../context.js";
import { isAnswerFault } from "../faults/faults.js";
import { sendJsonText } from "../http/io.js";
import type { Call } from "../http/router.js";
import type { LimitClass, LimitKey } from "../limits/limits.js";
import { UserFlag } from "../org/model.js";
import { C } from "../store/counters.js";
import type { ConversationRef } from "./conversation.js";
import { errors, sendError, type TeamsError } from "./errors.js";

/**
 * The checks every Connector call goes through, in Teams' order: bearer token (401), then
 * counting and violation bookkeeping, injected faults, rate limits (429 + Retry-After), and the
 * tenant's admin switch (403 BotDisabledByAdmin). Handlers continue in `go`, which gets the
 * call (so a route can pass one function made once, not a closure per request).
 */
export function withAuth(ctx: EmulatorContext, call: Call, go: (call: Call) => void): void {
  const ok = ctx.auth.check(call.req.headers.authorization);
  if (ok === true) {
    go(call);
    return;
  }
  if (ok === false) {
    unauthorized(ctx, call);
    return;
  }
  ok.then(
    (valid) => (valid ? go(call) : unauthorized(ctx, call)),
    () => unauthorized(ctx, call),
  );
}

function unauthorized(ctx: EmulatorContext, call: Call): void {
  ctx.counters.inc(-1, C.requests);
  ctx.counters.inc(-1, C.unauthorized);
  ctx.counters.status(-1, 401);
  sendError(call.res, errors.unauthorized, { "www-authenticate": 'Bearer realm="emulator"' });
}

const faultAnswers: Record<string, [TeamsError, number]> = {
  status412: [errors.preconditionFailed, C.fault412],
  status500: [errors.internal, C.fault500],
  status502: [errors.badGateway, C.fault502],
  status503: [errors.unavailable, C.fault503],
  status504: [errors.gatewayTimeout, C.fault504],
};

/** What `gate` decided: go on now, already answered (or the socket reset), or a slow fault. */
export const Verdict = { pass: 0, answered: 1, slow: 2 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** Count, draw a fault, apply limits and the admin switch, then `go`. */
export function admit(ctx: EmulatorContext, call: Call, tenant: number, key: LimitKey | undefined, cls: LimitClass, go: () => void): void {
  const verdict = gate(ctx, call, tenant, key, cls, ctx.clock.now());
  if (verdict === Verdict.pass) go();
  else if (verdict === Verdict.slow) afterSlowFault(ctx, call, tenant, key, cls, go);
}

/**
 * `admit` without a continuation, for the hot path: counts the request and runs the checks
 * at `now`. `pass`: go on now. `answered`: the refusal was sent. `slow`: a slow fault was
 * drawn; hand the continuation to `afterSlowFault`, which runs the remaining checks later.
 */
export function gate(ctx: EmulatorContext, call: Call, tenant: number, key: LimitKey | undefined, cls: LimitClass, now: number): Verdict {
  ctx.counters.inc(tenant, C.requests);
  if (ctx.limits.isViolation(tenant, key, now)) ctx.counters.inc(tenant, C.violations);
  const fault = ctx.faults.draw(tenant, call.method);
  if (fault !== undefined) {
    ctx.counters.inc(tenant, C.faults);
    if (fault === "reset") {
      ctx.counters.inc(tenant, C.faultReset);
      call.req.socket.destroy();
      return Verdict.answered;
    }
    if (fault === "slow") {
      ctx.counters.inc(tenant, C.faultSlow);
      return Verdict.slow;
    }
    if (fault === "status429") {
      ctx.counters.inc(tenant, C.fault429);
      ctx.counters.inc(tenant, C.throttled);
      ctx.counters.status(tenant, 429);
      sendError(call.res, errors.throttled, { "retry-after": String(ctx.faults.retryAfterSeconds) });
      return Verdict.answered;
    }
    if (isAnswerFault(fault)) {
      // The request goes on as usual; `ok` spoils its answer.
      call.answerFault = fault;
      return afterFaults(ctx, call, tenant, key, cls, now);
    }
    const [answer, counter] = faultAnswers[fault]!;
    ctx.counters.inc(tenant, counter);
    ctx.counters.status(tenant, answer.status);
    sendError(call.res, answer);
    return Verdict.answered;
  }
  return afterFaults(ctx, call, tenant, key, cls, now);
}

/** After a slow fault's delay: the limits and the admin switch, then `go`. */
export function afterSlowFault(
  ctx: EmulatorContext,
  call: Call,
  tenant: number,
  key: LimitKey | undefined,
  cls: LimitClass,
  go: () => void,
): void {
  setTimeout(() => {
    if (afterFaults(ctx, call, tenant, key, cls, ctx.clock.now()) === Verdict.pass) go();
  }, ctx.faults.slowMs);
}

function afterFaults(ctx: EmulatorContext, call: Call, tenant: number, key: LimitKey | undefined, cls: LimitClass, now: number): Verdict {
  const throttle = ctx.limits.admit(tenant, key, cls, now);
  if (throttle) {
    ctx.counters.inc(tenant, C.throttled);
    if (throttle.scope === "tenant") ctx.counters.inc(tenant, C.throttledTenant);
    ctx.counters.status(tenant, 429);
    sendError(call.res, errors.throttled, { "retry-after": throttle.retry.header });
    return Verdict.answered;
  }
  if (tenant >= 0 && ctx.state.tenantDisabled[tenant]) {
    fail(ctx, call, tenant, errors.botDisabledByAdmin);
    return Verdict.answered;
  }
  return Verdict.pass;
}

const counterOf: Record<string, number> = {
  MessageWritesBlocked: C.blocked,
  ConversationBlockedByUser: C.blocked,
  BotNotInConversationRoster: C.uninstalled,
  ForbiddenOperationException: C.uninstalled,
  ConversationNotFound: C.notFound,
  ActivityNotFoundInConversation: C.notFound,
  MemberNotFoundInConversation: C.notFound,
  NotFound: C.notFound,
  BotDisabledByAdmin: C.disabled,
  BadArgument: C.badRequests,
  BadSyntax: C.badRequests,
  MessageSizeTooBig: C.tooBig,
};

/** Answer with a Teams error and count it (`counter` overrides the counter the code implies). */
export function fail(ctx: EmulatorContext, call: Call, tenant: number, error: TeamsError, counter?: number): void {
  const c = counter ?? counterOf[error.code];
  if (c !== undefined) ctx.counters.inc(tenant, c);
  ctx.counters.status(tenant, error.status);
  sendError(call.res, error);
}

/**
 * Answer a request that was done with JSON text (empty text: no body) and count the status. An
 * answer fault drawn for it applies here, after the request took effect: `deliverReset` destroys
 * the socket instead, `deliverLate` answers after `deliverLateMs`, `deliver502`/`deliver504`
 * answer a gateway's error instead.
 */
export function ok(ctx: EmulatorContext, call: Call, tenant: number, status: number, text: string): void {
  const fault = call.answerFault;
  if (fault === "deliverReset") {
    ctx.counters.inc(tenant, C.faultDeliverReset);
    call.req.socket.destroy();
    return;
  }
  if (fault === "deliver502" || fault === "deliver504") {
    const error = fault === "deliver502" ? errors.badGateway : errors.gatewayTimeout;
    ctx.counters.inc(tenant, C.faultDeliverGateway);
    ctx.counters.status(tenant, error.status);
    sendError(call.res, error);
    return;
  }
  ctx.counters.status(tenant, status);
  if (fault === "deliverLate") {
    ctx.counters.inc(tenant, C.faultDeliverLate);
    setTimeout(() => answer(call, status, text), ctx.faults.deliverLateMs);
    return;
  }
  answer(call, status, text);
}

function answer(call: Call, status: number, text: string): void {
  if (text !== "") sendJsonText(call.res, status, text);
  else if (!call.res.headersSent && !call.res.destroyed) {
    call.res.writeHead(status, { "content-length": 0 });
    call.res.end();
  }
}

/** A request for a conversation that does not exist (counted without a tenant). */
export function unknownConversation(ctx: EmulatorContext, call: Call): void {
  ctx.counters.inc(-1, C.requests);
  fail(ctx, call, -1, errors.conversationNotFound);
}

/** How a send to a user without the app answers (per `uninstalledAnswer`). */
export function uninstalledError(ctx: EmulatorContext, user: number): TeamsError {
  const mode = ctx.options.uninstalledAnswer;
  const notFound = mode === "notFound" || (mode === "mixed" && user % 2 === 1);
  return notFound ? errors.conversationNotFound : errors.botNotInConversationRoster;
}

/** Why the bot may not write to this conversation now, if it may not. */
export function writeRefusal(ctx: EmulatorContext, ref: ConversationRef): TeamsError | undefined {
  if (ref.kind === "personal") {
    const flags = ctx.state.userFlags[ref.user] ?? 0;
    if (flags === 0) return undefined;
    if (flags & UserFlag.blocked) return errors.messageWritesBlocked;
    return uninstalledError(ctx, ref.user);
  }
  if (ref.kind === "channel") return ctx.state.teamRemoved[ref.team.index] ? errors.botNotInConversationRoster : undefined;
  return ctx.state.chatRemoved[ref.chat.index] ? errors.botNotInConversationRoster : undefined;
}
