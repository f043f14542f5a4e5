import type { EmulatorContext } from "../context.js";
import { queryOf } from "../http/io.js";
import type { Call, Router } from "../http/router.js";
import type { OrgUser } from "../org/model.js";
import { C } from "../store/counters.js";
import { type ConversationRef, resolveConversation } from "./conversation.js";
import { badArgument, errors } from "./errors.js";
import { admit, fail, ok, unknownConversation, withAuth, writeRefusal } from "./gate.js";
import { clampPageSize, decodeToken, encodeToken } from "./paging.js";

/** A member as the Connector returns it since 2022: no e-mail or UPN (use Graph for those). */
export function memberJson(u: OrgUser): Record<string, unknown> {
  return {
    id: u.id,
    name: u.name,
    aadObjectId: u.aadObjectId,
    objectId: u.aadObjectId,
    givenName: u.givenName,
    surname: u.surname,
    tenantId: u.tenantId,
    userRole: "user",
  };
}

/** Member count of a conversation and the user index of member k. */
function roster(ctx: EmulatorContext, ref: ConversationRef): { count: number; at: (k: number) => number; has: (u: number) => boolean } {
  const org = ctx.org;
  if (ref.kind === "personal") return { count: 1, at: () => ref.user, has: (u) => u === ref.user };
  if (ref.kind === "chat")
    return { count: ref.chat.memberCount, at: (k) => org.chatMember(ref.chat.index, k), has: (u) => org.isChatMember(ref.chat.index, u) };
  const rosters = ctx.state.rosters;
  const t = ref.team.index;
  return { count: rosters.count(t), at: (k) => rosters.at(t, k), has: (u) => rosters.has(t, u) };
}

/** The deprecated unpaged list stops here (Teams: at most 10,000 members). */
const UNPAGED_MAX = 10_000;

/**
 * Members of conversations and teams: paged (`pagedmembers`, also spelled `pagedMembers`),
 * unpaged (deprecated), one member, team details and team channels.
 */
export function registerMembers(router: Router, ctx: EmulatorContext): void {
  const p = ctx.urls.connectorPath;
  const guarded = (fn: (ref: ConversationRef, call: Call) => void) => (call: Call) =>
    withAuth(ctx, call, () => {
      const ref = resolveConversation(ctx.org, call.params[0]!);
      if (!ref) {
        unknownConversation(ctx, call);
        return;
      }
      admit(ctx, call, ref.tenant, ref.limitKey, "read", () => {
        const refusal = writeRefusal(ctx, ref);
        if (refusal && refusal !== errors.messageWritesBlocked) {
          fail(ctx, call, ref.tenant, refusal);
          return;
        }
        ctx.counters.inc(ref.tenant, C.reads);
        fn(ref, call);
      });
    });

  router.add(
    "GET",
    `${p}/v3/conversations/:conv/pagedmembers`,
    guarded((ref, call) => {
      const q = queryOf(call.query);
      const size = clampPageSize(q.get("pageSize"));
      const offset = decodeToken(ref.id, q.get("continuationToken"));
      if (offset < 0) {
        fail(ctx, call, ref.tenant, badArgument("The continuation token is not valid."));
        return;
      }
      const r = roster(ctx, ref);
      const end = Math.min(r.count, offset + size);
      const members: Record<string, unknown>[] = [];
      for (let k = offset; k < end; k++) members.push(memberJson(ctx.org.user(r.at(k))));
      const page: Record<string, unknown> = { members };
      if (end < r.count) page["continuationToken"] = encodeToken(ref.id, end);
      ok(ctx, call, ref.tenant, 200, JSON.stringify(page));
    }),
  );

  const unpaged = guarded((ref, call) => {
    const r = roster(ctx, ref);
    if (r.count > UNPAGED_MAX) {
      fail(ctx, call, ref.tenant, badArgument(`The conversation has more than ${UNPAGED_MAX} members; use pagedmembers.`));
      return;
    }
    const members: Record<string, unknown>[] = [];
    for (let k = 0; k < r.count; k++) members.push(memberJson(ctx.org.user(r.at(k))));
    ok(ctx, call, ref.tenant, 200, JSON.stringify(members));
  });
  router.add("GET", `${p}/v3/conversations/:conv/members`, unpaged);
  router.add("GET", `${p}/v3/conversations/:conv/activities/:activity/members`, unpaged);

  router.add(
    "GET",
    `${p}/v3/conversations/:conv/members/:member`,
    guarded((ref, call) => {
      const user = ctx.org.userIndexOf(call.params[1]!);
      if (user < 0 || !roster(ctx, ref).has(user)) {
        fail(ctx, call, ref.tenant, errors.memberNotFound);
        return;
      }
      ok(ctx, call, ref.tenant, 200, JSON.stringify(memberJson(ctx.org.user(user))));
    }),
  );

  const team = (fn: (teamIndex: number, tenant: number, call: Call) => void) => (call: Call) =>
    withAuth(ctx, call, () => {
      const t = ctx.org.teamById(call.params[0]!);
      if (!t) {
        ctx.counters.inc(-1, C.requests);
        fail(ctx, call, -1, errors.teamNotFound);
        return;
      }
      admit(ctx, call, t.tenantIndex, t.id, "read", () => {
        if (ctx.state.teamRemoved[t.index]) {
          fail(ctx, call, t.tenantIndex, errors.botNotInConversationRoster);
          return;
        }
        ctx.counters.inc(t.tenantIndex, C.reads);
        fn(t.index, t.tenantIndex, call);
      });
    });

  router.add(
    "GET",
    `${p}/v3/teams/:team`,
    team((g, tenant, call) => {
      const t = ctx.org.teams[g]!;
      const details = {
        id: t.id,
        name: t.name,
        aadGroupId: t.aadGroupId,
        channelCount: t.channels.length,
        memberCount: ctx.state.rosters.count(t.index),
        type: "standard",
      };
      ok(ctx, call, tenant, 200, JSON.stringify(details));
    }),
  );
  router.add(
    "GET",
    `${p}/v3/teams/:team/conversations`,
    team((g, tenant, call) => {
      const t = ctx.org.teams[g]!;
      const conversations = t.channels.map((c) => ({ id: c.id, name: c.index === 0 ? null : c.name }));
      ok(ctx, call, tenant, 200, JSON.stringify({ conversations }));
    }),
  );
}
