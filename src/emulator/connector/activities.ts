import type { EmulatorContext } from "../context.js";
import { isRecord } from "../http/io.js";
import type { Call, Router } from "../http/router.js";
import { C } from "../store/counters.js";
import { Count } from "../store/messages.js";
import { type ConversationRef, resolveConversation } from "./conversation.js";
import { countKey, deliver } from "./deliver.js";
import { badArgument, badSyntax, errors, type TeamsError } from "./errors.js";
import { admit, afterSlowFault, fail, gate, ok, unknownConversation, Verdict, withAuth, writeRefusal } from "./gate.js";

/**
 * Send, reply, update and delete (`/v3/conversations/{id}/activities[/{activityId}]`). Any
 * activity id in a POST is accepted as an ordinary send (botbuilder posts proactive messages
 * to `/activities/{random uuid}` and a create's first message to `/activities/{conversationId}`).
 */
export function registerActivities(router: Router, ctx: EmulatorContext): void {
  const base = `${ctx.urls.connectorPath}/v3/conversations/:conv/activities`;
  // Made once, so an ordinary send allocates no closure of its own per request.
  const sendNew = (call: Call) => send(ctx, call, undefined);
  const sendTo = (call: Call) => send(ctx, call, call.params[1]);
  router.add("POST", base, (call) => withAuth(ctx, call, sendNew));
  router.add("POST", `${base}/:activity`, (call) => withAuth(ctx, call, sendTo));
  router.add("PUT", `${base}/:activity`, (call) => withAuth(ctx, call, () => update(ctx, call)));
  router.add("DELETE", `${base}/:activity`, (call) => withAuth(ctx, call, () => remove(ctx, call)));
}

/** Parse and check an activity body: size first (413), then JSON (400). */
export function readActivity(ctx: EmulatorContext, body: Buffer): { activity: Record<string, unknown>; json: string } | TeamsError {
  if (body.length > ctx.options.maxMessageBytes) return errors.messageSizeTooBig;
  const json = body.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return badSyntax("The request body is not valid JSON.");
  }
  if (!isRecord(value)) return badSyntax("The request body must be a JSON object (an Activity).");
  if (typeof value["type"] !== "string" || value["type"].length === 0) return badArgument("Activity type is required.");
  return { activity: value, json };
}

function refusalCounter(ref: ConversationRef, error: TeamsError): number | undefined {
  return ref.kind === "personal" && error === errors.conversationNotFound ? C.uninstalled : undefined;
}

function send(ctx: EmulatorContext, call: Call, replyTo: string | undefined): void {
  const ref = resolveConversation(ctx.org, call.params[0]!);
  if (!ref) {
    unknownConversation(ctx, call);
    return;
  }
  const now = ctx.clock.now();
  const verdict = gate(ctx, call, ref.tenant, ref.limitKey, "send", now);
  if (verdict === Verdict.pass) sendAdmitted(ctx, call, ref, replyTo, now);
  else if (verdict === Verdict.slow)
    afterSlowFault(ctx, call, ref.tenant, ref.limitKey, "send", () => sendAdmitted(ctx, call, ref, replyTo, ctx.clock.now()));
}

/** The activity of a write the bot may make here, or undefined after answering why not (refused, too big, malformed). */
function writableActivity(
  ctx: EmulatorContext,
  call: Call,
  ref: ConversationRef,
): { activity: Record<string, unknown>; json: string } | undefined {
  const refusal = writeRefusal(ctx, ref);
  if (refusal) {
    fail(ctx, call, ref.tenant, refusal, refusalCounter(ref, refusal));
    return undefined;
  }
  const read = readActivity(ctx, call.body);
  if ("status" in read) {
    fail(ctx, call, ref.tenant, read);
    return undefined;
  }
  return read;
}

function sendAdmitted(ctx: EmulatorContext, call: Call, ref: ConversationRef, replyTo: string | undefined, now: number): void {
  const read = writableActivity(ctx, call, ref);
  if (!read) return;
  const result = deliver(ctx, ref, read.activity, read.json, replyTo, now);
  ok(ctx, call, ref.tenant, 201, result.id === undefined ? "{}" : `{"id":"${result.id}"}`);
}

function update(ctx: EmulatorContext, call: Call): void {
  const ref = resolveConversation(ctx.org, call.params[0]!);
  if (!ref) {
    unknownConversation(ctx, call);
    return;
  }
  const activityId = call.params[1]!;
  admit(ctx, call, ref.tenant, ref.limitKey, "send", () => {
    const read = writableActivity(ctx, call, ref);
    if (!read) return;
    const record = ctx.messages.find(ref.id, activityId);
    if (record ? record.deletedAt !== undefined : !ctx.activityIds.issued(activityId)) {
      fail(ctx, call, ref.tenant, errors.activityNotFound);
      return;
    }
    if (record) ctx.messages.change(record, "update", ctx.clock.now(), read.json);
    ctx.counters.inc(ref.tenant, C.updates);
    ctx.counts.inc(countKey(ref), Count.updated);
    ok(ctx, call, ref.tenant, 200, JSON.stringify({ id: activityId }));
  });
}

function remove(ctx: EmulatorContext, call: Call): void {
  const ref = resolveConversation(ctx.org, call.params[0]!);
  if (!ref) {
    unknownConversation(ctx, call);
    return;
  }
  const activityId = call.params[1]!;
  admit(ctx, call, ref.tenant, ref.limitKey, "send", () => {
    const refusal = writeRefusal(ctx, ref);
    if (refusal) {
      fail(ctx, call, ref.tenant, refusal, refusalCounter(ref, refusal));
      return;
    }
    const record = ctx.messages.find(ref.id, activityId);
    if (!record && !ctx.activityIds.issued(activityId)) {
      fail(ctx, call, ref.tenant, errors.activityNotFound);
      return;
    }
    if (record && record.deletedAt === undefined) ctx.messages.change(record, "delete", ctx.clock.now(), undefined);
    ctx.counters.inc(ref.tenant, C.deletes);
    ctx.counts.inc(countKey(ref), Count.deleted);
    ok(ctx, call, ref.tenant, 200, "");
  });
}
