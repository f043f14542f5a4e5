import type { EmulatorContext } from "../context.js";
import { isRecord, parseJsonBody } from "../http/io.js";
import type { Call, Router } from "../http/router.js";
import { UserFlag } from "../org/model.js";
import { C } from "../store/counters.js";
import { type ConversationRef, resolveConversation, threadId } from "./conversation.js";
import { deliver } from "./deliver.js";
import { badArgument, badSyntax, errors } from "./errors.js";
import { admit, fail, ok, withAuth, writeRefusal } from "./gate.js";

/**
 * `POST /v3/conversations` with Teams' rules:
 * - 1:1: exactly one member (Teams id `29:...`, or an Entra object id when allowed), a tenant id
 *   (`tenantId` or `channelData.tenant.id`); the same user always gets the same `a:...` id; an
 *   optional `activity` is sent at once and its id returned as `activityId`.
 * - channel thread: `channelData.channel.id` and a required `activity`; answers
 *   `{id: "<channel>;messageid=N", activityId: "N"}`.
 * - anything else (group chats, `isGroup` without a channel) is refused with 400 BadSyntax.
 */
export function registerCreate(router: Router, ctx: EmulatorContext): void {
  router.add("POST", `${ctx.urls.connectorPath}/v3/conversations`, (call) => withAuth(ctx, call, () => create(ctx, call)));
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

function early(ctx: EmulatorContext, call: Call, message: string, syntax: boolean): void {
  ctx.counters.inc(-1, C.requests);
  fail(ctx, call, -1, syntax ? badSyntax(message) : badArgument(message));
}

const incorrect = "Incorrect conversation creation parameters";

function create(ctx: EmulatorContext, call: Call): void {
  if (call.body.length > ctx.options.maxMessageBytes * 4) {
    early(ctx, call, "The request body is too large.", false);
    return;
  }
  const body = parseJsonBody(call.body);
  if (!isRecord(body)) {
    early(ctx, call, "The request body must be a JSON object (ConversationParameters).", true);
    return;
  }
  const channelData = isRecord(body["channelData"]) ? body["channelData"] : {};
  const channel = isRecord(channelData["channel"]) ? str(channelData["channel"]["id"]) : undefined;
  const channelId = channel ?? str(channelData["teamsChannelId"]);
  if (channelId !== undefined || body["isGroup"] === true) {
    if (channelId === undefined) {
      early(ctx, call, incorrect, true);
      return;
    }
    createThread(ctx, call, body, channelId);
    return;
  }
  createPersonal(ctx, call, body, channelData);
}

function createThread(ctx: EmulatorContext, call: Call, body: Record<string, unknown>, channelId: string): void {
  const ref = resolveConversation(ctx.org, channelId);
  if (ref?.kind !== "channel" || ref.thread !== undefined) {
    if (ref?.kind === "chat") {
      early(ctx, call, incorrect, true);
      return;
    }
    ctx.counters.inc(-1, C.requests);
    fail(ctx, call, -1, errors.conversationNotFound);
    return;
  }
  admit(ctx, call, ref.tenant, ref.limitKey, "create", () => {
    const refusal = writeRefusal(ctx, ref);
    if (refusal) {
      fail(ctx, call, ref.tenant, refusal);
      return;
    }
    const activity = body["activity"];
    if (!isRecord(activity)) {
      fail(ctx, call, ref.tenant, badArgument("An activity is required to start a conversation in a channel."));
      return;
    }
    const sent = sendFirst(ctx, call, ref, activity);
    if (sent === null) return;
    ctx.counters.inc(ref.tenant, C.creates);
    const answer = sent === undefined ? { id: ref.id } : { id: threadId(ref.id, sent), activityId: sent };
    ok(ctx, call, ref.tenant, 201, JSON.stringify(answer));
  });
}

function createPersonal(ctx: EmulatorContext, call: Call, body: Record<string, unknown>, channelData: Record<string, unknown>): void {
  const members = body["members"];
  if (!Array.isArray(members) || members.length !== 1 || !isRecord(members[0]) || !str(members[0]["id"])) {
    early(ctx, call, incorrect, true);
    return;
  }
  const memberId = members[0]["id"] as string;
  const tenantRaw = str(body["tenantId"]) ?? (isRecord(channelData["tenant"]) ? str(channelData["tenant"]["id"]) : undefined);
  if (!tenantRaw) {
    early(ctx, call, "A tenant id is required to create a conversation with a user (tenantId or channelData.tenant.id).", false);
    return;
  }
  const tenant = ctx.org.tenantByIdOrDomain(tenantRaw);
  if (!tenant) {
    early(ctx, call, `Tenant ${tenantRaw} is unknown.`, false);
    return;
  }
  const isTeamsId = memberId.startsWith("29:");
  const user = isTeamsId || ctx.options.acceptObjectIdMembers ? ctx.org.userIndexOf(memberId) : -1;
  if (user < 0 || ctx.org.tenantOfUser(user) !== tenant.index) {
    ctx.counters.inc(tenant.index, C.requests);
    fail(ctx, call, tenant.index, badArgument(`Member ${memberId} was not found in tenant ${tenantRaw}.`));
    return;
  }
  const id = ctx.org.personalConversationId(user);
  const ref: ConversationRef = { kind: "personal", id, tenant: tenant.index, user, limitKey: user, thread: undefined };
  admit(ctx, call, tenant.index, user, "create", () => {
    const flags = ctx.state.userFlags[user] ?? 0;
    if (flags & UserFlag.uninstalled && !(flags & UserFlag.blocked)) {
      fail(ctx, call, tenant.index, errors.forbiddenOperation);
      return;
    }
    const activity = body["activity"];
    let activityId: string | undefined;
    if (isRecord(activity)) {
      if (flags & UserFlag.blocked) {
        fail(ctx, call, tenant.index, errors.messageWritesBlocked);
        return;
      }
      const sent = sendFirst(ctx, call, ref, activity);
      if (sent === null) return;
      activityId = sent;
    }
    ctx.counters.inc(tenant.index, C.creates);
    ok(ctx, call, tenant.index, 201, JSON.stringify(activityId === undefined ? { id } : { id, activityId }));
  });
}

/** Deliver the first activity of a create: its id, undefined when split, null when refused. */
function sendFirst(ctx: EmulatorContext, call: Call, ref: ConversationRef, activity: Record<string, unknown>): string | undefined | null {
  const json = JSON.stringify(activity);
  if (Buffer.byteLength(json) > ctx.options.maxMessageBytes) {
    fail(ctx, call, ref.tenant, errors.messageSizeTooBig);
    return null;
  }
  const withType = typeof activity["type"] === "string" ? activity : { ...activity, type: "message" };
  return deliver(ctx, ref, withType, json, undefined).id;
}
