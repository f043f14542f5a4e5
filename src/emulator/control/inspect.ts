import { resolveConversation } from "../connector/conversation.js";
import { countKey } from "../connector/deliver.js";
import { memberJson } from "../connector/members.js";
import type { EmulatorContext } from "../context.js";
import { EmulatorError } from "../errors.js";
import { queryOf } from "../http/io.js";
import type { Router } from "../http/router.js";
import type { OrgTeam, OrgUser } from "../org/model.js";
import type { MessageRecord } from "../store/messages.js";
import { control, page } from "./respond.js";

/** A user with what the emulator knows about them now. */
export function userJson(ctx: EmulatorContext, u: OrgUser): Record<string, unknown> {
  const conversationId = ctx.org.personalConversationId(u.index);
  return {
    ...memberJson(u),
    index: u.index,
    userPrincipalName: u.userPrincipalName,
    email: u.email,
    timezone: u.timezone,
    locale: u.locale,
    country: u.country,
    blocked: ctx.state.isBlocked(u.index),
    uninstalled: ctx.state.isUninstalled(u.index),
    conversationId,
    counts: ctx.counts.get(u.index),
    lastRead: ctx.bot.reads.get(u.index) ?? null,
  };
}

function teamJson(ctx: EmulatorContext, t: OrgTeam): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    aadGroupId: t.aadGroupId,
    tenantId: ctx.org.tenants[t.tenantIndex]!.id,
    memberCount: ctx.state.rosters.count(t.index),
    installed: !ctx.state.teamRemoved[t.index],
    channels: t.channels.map((c) => ({ id: c.id, name: c.name, counts: ctx.counts.get(c.id) })),
  };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function messageJson(m: MessageRecord): Record<string, unknown> {
  return {
    id: m.split ? null : m.id,
    from: m.from,
    user: m.user >= 0 ? m.user : undefined,
    threadId: m.threadId,
    split: m.split,
    createdAt: new Date(m.createdAt).toISOString(),
    updatedAt: m.updatedAt === undefined ? undefined : new Date(m.updatedAt).toISOString(),
    deletedAt: m.deletedAt === undefined ? undefined : new Date(m.deletedAt).toISOString(),
    activity: m.deletedAt === undefined ? parse(m.activity) : null,
    history: (m.history ?? []).map((h) => ({ at: new Date(h.at).toISOString(), kind: h.kind, previous: parse(h.previous) })),
  };
}

/**
 * Read-only views under `/_emulator`: the organisation (tenants, users, teams, chats with
 * paging), what each conversation received (with update/delete history), counters global and
 * per tenant.
 */
export function registerInspect(router: Router, ctx: EmulatorContext): void {
  const org = ctx.org;
  router.add(
    "GET",
    "/_emulator",
    control(() => ({
      name: "Herald Teams emulator",
      appId: ctx.appId,
      botId: `28:${ctx.appId}`,
      botEndpoint: ctx.bot.endpoint ?? null,
      urls: {
        base: ctx.urls.base,
        serviceUrl: ctx.urls.serviceUrl,
        tokenEndpoint: `${ctx.urls.base}/botframework.com/oauth2/v2.0/token`,
        openIdMetadata: `${ctx.urls.base}/v1/.well-known/openidconfiguration`,
      },
      tokenIssuer: ctx.options.tokenIssuer,
      auth: ctx.auth.enabled,
      limits: ctx.limits.settings,
      faults: ctx.faults.current,
      org: { seed: org.seed, tenants: org.tenants.length, users: org.userCount, teams: org.teams.length, chats: org.chats.length },
    })),
  );

  router.add(
    "GET",
    "/_emulator/stats",
    control(() => ({
      global: ctx.counters.snapshot(),
      tenants: org.tenants.map((t) => ({ id: t.id, name: t.name, counters: ctx.counters.snapshot(t.index) })),
      messages: { kept: ctx.messages.size, conversations: ctx.messages.conversations, cap: ctx.messages.caps.globalCap },
      limits: { tracked: ctx.limits.tracked },
      heapUsed: process.memoryUsage().heapUsed,
    })),
  );

  router.add(
    "GET",
    "/_emulator/tenants",
    control(() => ({
      tenants: org.tenants.map((t) => ({
        id: t.id,
        name: t.name,
        domain: t.domain,
        users: t.userCount,
        ...ctx.state.countFlags(t.userStart, t.userCount),
        botDisabled: ctx.state.tenantDisabled[t.index] === 1,
        teams: org.teams.filter((g) => g.tenantIndex === t.index).length,
      })),
    })),
  );

  router.add(
    "GET",
    "/_emulator/users",
    control((call) => {
      const q = queryOf(call.query);
      const tenantId = q.get("tenantId");
      const tenant = tenantId ? org.tenantByIdOrDomain(tenantId) : undefined;
      if (tenantId && !tenant) throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_TENANT", `No tenant ${tenantId}.`);
      const start = tenant?.userStart ?? 0;
      const count = tenant?.userCount ?? org.userCount;
      const { offset, limit } = page(q);
      const end = Math.min(count, offset + limit);
      const users = [];
      for (let k = offset; k < end; k++) users.push(userJson(ctx, org.user(start + k)));
      return { total: count, users, cursor: end < count ? String(end) : null };
    }),
  );

  router.add(
    "GET",
    "/_emulator/users/:user",
    control((call) => userJson(ctx, ctx.bot.user(call.params[0]!))),
  );

  router.add(
    "GET",
    "/_emulator/teams",
    control((call) => {
      const q = queryOf(call.query);
      const tenantId = q.get("tenantId");
      const tenant = tenantId ? org.tenantByIdOrDomain(tenantId) : undefined;
      const all = tenant ? org.teams.filter((t) => t.tenantIndex === tenant.index) : org.teams;
      const { offset, limit } = page(q);
      const end = Math.min(all.length, offset + limit);
      return {
        total: all.length,
        teams: all.slice(offset, end).map((t) => teamJson(ctx, t)),
        cursor: end < all.length ? String(end) : null,
      };
    }),
  );

  const teamOf = (id: string): OrgTeam => {
    const t = org.teamById(id);
    if (!t) throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_TEAM", `No team ${id}; list teams with GET /_emulator/teams.`);
    return t;
  };
  router.add(
    "GET",
    "/_emulator/teams/:team",
    control((call) => teamJson(ctx, teamOf(call.params[0]!))),
  );
  router.add(
    "GET",
    "/_emulator/teams/:team/members",
    control((call) => {
      const t = teamOf(call.params[0]!);
      const { offset, limit } = page(queryOf(call.query));
      const total = ctx.state.rosters.count(t.index);
      const end = Math.min(total, offset + limit);
      const members = [];
      for (let k = offset; k < end; k++) members.push(userJson(ctx, org.user(ctx.state.rosters.at(t.index, k))));
      return { total, members, cursor: end < total ? String(end) : null };
    }),
  );

  router.add(
    "GET",
    "/_emulator/chats",
    control(() => ({
      chats: org.chats.map((c) => {
        const members = [];
        for (let k = 0; k < c.memberCount; k++) members.push(org.user(org.chatMember(c.index, k)).id);
        return {
          id: c.id,
          topic: c.topic,
          tenantId: org.tenants[c.tenantIndex]!.id,
          members,
          installed: !ctx.state.chatRemoved[c.index],
          counts: ctx.counts.get(c.id),
        };
      }),
    })),
  );

  router.add(
    "GET",
    "/_emulator/conversations",
    control((call) => {
      const { offset, limit } = page(queryOf(call.query));
      const ids = [...ctx.messages.conversationIds()];
      const end = Math.min(ids.length, offset + limit);
      return {
        total: ids.length,
        conversations: ids.slice(offset, end).map((id) => ({ id, kept: ctx.messages.list(id).length })),
        cursor: end < ids.length ? String(end) : null,
      };
    }),
  );

  router.add(
    "GET",
    "/_emulator/conversations/:conv/messages",
    control((call) => {
      const ref = resolveConversation(org, call.params[0]!);
      if (!ref) throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_CONVERSATION", `No conversation ${call.params[0]}.`);
      const q = queryOf(call.query);
      const limit = Math.min(10_000, Math.max(1, Number(q.get("limit") ?? 200) || 200));
      let list = ctx.messages.list(ref.id);
      if (ref.kind === "channel" && ref.thread) list = list.filter((m) => m.threadId === ref.thread);
      const shown = list.slice(Math.max(0, list.length - limit));
      return {
        conversationId: ref.id,
        kind: ref.kind,
        tenantId: org.tenants[ref.tenant]!.id,
        counts: ctx.counts.get(countKey(ref)),
        kept: list.length,
        messages: shown.map(messageJson),
      };
    }),
  );
}
