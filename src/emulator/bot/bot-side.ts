import type { EmulatorKeyPair } from "../auth/keys.js";
import { resolveConversation } from "../connector/conversation.js";
import { storeUserMessage } from "../connector/deliver.js";
import type { EmulatorContext } from "../context.js";
import { EmulatorError } from "../errors.js";
import { isRecord } from "../http/io.js";
import { type OrgUser, UserFlag } from "../org/model.js";
import { C } from "../store/counters.js";
import {
  type ActivityEnv,
  type CardAction,
  cardInvoke,
  chatInstall,
  type InstallAction,
  type Place,
  personalInstall,
  readReceipt,
  teamInstall,
  teamMembership,
  userMessage,
} from "./activities.js";
import { type BotAnswer, BotClient } from "./client.js";
import { type CrowdDeps, type CrowdResult, type CrowdTarget, invokeMany, reactMany } from "./crowd.js";
import { type Job, Jobs } from "./jobs.js";

/** Whom an install or uninstall is for. */
export type InstallScope =
  | { users: (string | number)[] }
  | { tenantId: string }
  | { all: true }
  | { teamId: string; channelId?: string; installedBy?: string }
  | { chatId: string; installedBy?: string };

export interface UserMessageInput {
  /** The writer: Teams id, Entra object id or user index. */
  from: string | number;
  text: string;
  /** A conversation id (1:1, channel, channel thread or group chat); default: the user's 1:1 chat. */
  conversationId?: string;
  /** Shortcuts: a team (its General channel), a channel, or a group chat. */
  teamId?: string;
  channelId?: string;
  chatId?: string;
  /** Reply in the thread of this post (channels). */
  replyToId?: string;
}

/** Someone joins or leaves a team (`POST|DELETE /_emulator/teams/{id}/members`). */
export interface TeamMemberInput {
  /** The team: its id (= General channel id) or Entra group id. */
  teamId: string;
  /** The person: Teams id, Entra object id or user index; of the team's tenant. */
  user: string | number;
  /** Who adds or removes them (the activity's `from`); default: the person themself. */
  by?: string | number;
  /** Deliver the same activity (same id) this many times, as Teams does when the bot answered late. Default 1. */
  times?: number;
}

/** What changed on the roster and what the bot answered to each delivery (none when the app is not in the team). */
export interface TeamMemberResult {
  teamId: string;
  userId: string;
  aadObjectId: string;
  member: boolean;
  changed: boolean;
  activityId: string | null;
  deliveries: { status: number }[];
}

export interface InvokeInput extends CardAction {
  from: string | number;
  /** Id of the message holding the card. */
  replyToId: string;
  conversationId?: string;
}

/** The card an invoke answer asks Teams to show instead of the pressed one, if any. */
export function refreshedCard(body: unknown): Record<string, unknown> | undefined {
  if (!isRecord(body)) return undefined;
  const status = body["statusCode"] ?? body["status"];
  if (status !== 200 || body["type"] !== "application/vnd.microsoft.card.adaptive" || !isRecord(body["value"])) return undefined;
  return body["value"];
}

function noBot(): never {
  throw new EmulatorError(
    409,
    "HERALD_E_EMULATOR_NO_BOT",
    "No bot endpoint is configured: start the emulator with botEndpoint, or PUT /_emulator/bot {endpoint}.",
  );
}

/**
 * The emulator's Teams-to-bot side: installs and uninstalls (as jobs with progress), users'
 * messages, card button presses and read receipts, each signed and posted to the bot.
 */
export class BotSide {
  readonly jobs: Jobs;
  private client: BotClient | undefined;
  /** Last message id each user read (1:1 chats). */
  readonly reads = new Map<number, string>();
  endpoint: string | undefined;

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly keys: EmulatorKeyPair,
  ) {
    this.jobs = new Jobs(
      () => ctx.clock.now(),
      (ms) => ctx.clock.sleep(ms),
    );
    this.setEndpoint(ctx.options.botEndpoint);
  }

  /** Point the emulator at a (new) bot endpoint. */
  setEndpoint(endpoint: string | undefined): void {
    void this.client?.close();
    this.endpoint = endpoint;
    const o = this.ctx.options;
    this.client = endpoint
      ? new BotClient(endpoint, this.keys, o.tokenIssuer, this.ctx.appId, this.ctx.clock, o.botTimeoutMs, o.botConcurrency)
      : undefined;
  }

  async close(): Promise<void> {
    await this.client?.close();
  }

  private env(): ActivityEnv {
    return { serviceUrl: this.ctx.urls.serviceUrl, appId: this.ctx.appId, botName: this.ctx.options.botName, now: this.ctx.clock.now() };
  }

  private nextId(): string {
    return this.ctx.activityIds.next(this.ctx.clock.now());
  }

  /** Post one activity to the bot and count it. */
  async send(activity: Record<string, unknown>): Promise<BotAnswer> {
    const client = this.client ?? noBot();
    this.ctx.counters.inc(-1, C.botActivities);
    try {
      const answer = await client.post(activity);
      if (answer.status >= 400) this.ctx.counters.inc(-1, C.botFailures);
      return answer;
    } catch (err) {
      this.ctx.counters.inc(-1, C.botFailures);
      throw err;
    }
  }

  private async sendPair(pair: [Record<string, unknown>, Record<string, unknown>]): Promise<void> {
    for (const activity of pair) {
      const answer = await this.send(activity);
      if (answer.status >= 300) throw new Error(`the bot answered ${answer.status} to ${String(activity["type"])}`);
    }
  }

  /** A user by Teams id, Entra object id, or index; throws 404 when unknown. */
  user(ref: string | number): OrgUser {
    const index = typeof ref === "number" ? ref : /^\d+$/.test(ref) ? Number(ref) : this.ctx.org.userIndexOf(ref);
    if (!(index >= 0 && index < this.ctx.org.userCount)) {
      throw new EmulatorError(
        404,
        "HERALD_E_EMULATOR_UNKNOWN_USER",
        `No user ${String(ref)}; name users by Teams id (29:...), Entra object id or index.`,
      );
    }
    return this.ctx.org.user(index);
  }

  /**
   * Install (action add) or uninstall (remove) the app, sending Teams' event pair for each
   * personal scope, team or chat; the state changes before the events go, so the bot can
   * answer an install with a welcome message at once. Personal installs run
   * `botConcurrency` at a time, at most `rate` users per second when rate > 0.
   */
  install(scope: InstallScope, action: InstallAction, rate = 0): Job {
    if (!this.client) noBot();
    const ctx = this.ctx;
    const concurrency = ctx.options.botConcurrency;
    if ("teamId" in scope) {
      const team = ctx.org.teamById(scope.teamId);
      if (!team)
        throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_TEAM", `No team ${scope.teamId}; list teams with GET /_emulator/teams.`);
      const channel = scope.channelId ? team.channels.find((c) => c.id === scope.channelId) : team.channels[0];
      if (!channel)
        throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_CHANNEL", `Team ${team.name} has no channel ${scope.channelId}.`);
      const installer = scope.installedBy ? this.user(scope.installedBy) : ctx.org.user(ctx.state.rosters.at(team.index, 0));
      return this.jobs.start(
        `${action === "add" ? "install" : "uninstall"}-team`,
        1,
        1,
        () => {
          ctx.state.teamRemoved[team.index] = action === "add" ? 0 : 1;
          return this.sendPair(teamInstall(this.env(), [this.nextId(), this.nextId()], team, channel, installer, action));
        },
        () => team.id,
      );
    }
    if ("chatId" in scope) {
      const target = ctx.org.threadTarget(scope.chatId);
      if (target?.kind !== "chat")
        throw new EmulatorError(
          404,
          "HERALD_E_EMULATOR_UNKNOWN_CHAT",
          `No group chat ${scope.chatId}; list chats with GET /_emulator/chats.`,
        );
      const chat = target.chat;
      const installer = scope.installedBy ? this.user(scope.installedBy) : ctx.org.user(ctx.org.chatMember(chat.index, 0));
      return this.jobs.start(
        `${action === "add" ? "install" : "uninstall"}-chat`,
        1,
        1,
        () => {
          ctx.state.chatRemoved[chat.index] = action === "add" ? 0 : 1;
          return this.sendPair(chatInstall(this.env(), [this.nextId(), this.nextId()], chat, installer, action));
        },
        () => chat.id,
      );
    }
    let total: number;
    let at: (k: number) => number | string;
    if ("users" in scope) {
      total = scope.users.length;
      at = (k) => scope.users[k]!;
    } else if ("tenantId" in scope) {
      const tenant = ctx.org.tenantByIdOrDomain(scope.tenantId);
      if (!tenant)
        throw new EmulatorError(
          404,
          "HERALD_E_EMULATOR_UNKNOWN_TENANT",
          `No tenant ${scope.tenantId}; list tenants with GET /_emulator/tenants.`,
        );
      total = tenant.userCount;
      at = (k) => tenant.userStart + k;
    } else {
      total = ctx.org.userCount;
      at = (k) => k;
    }
    return this.jobs.start(
      `${action === "add" ? "install" : "uninstall"}-personal`,
      total,
      concurrency,
      (k) => {
        const user = this.user(at(k));
        ctx.state.setFlag(user.index, UserFlag.uninstalled, action === "remove");
        const pair = personalInstall(this.env(), [this.nextId(), this.nextId()], user, ctx.org.personalConversationId(user.index), action);
        return this.sendPair(pair);
      },
      (k) => String(at(k)),
      rate,
    );
  }

  /**
   * Add a person to a team's roster (or take them off), then, when the app is in the team and the
   * roster changed, post Teams' `conversationUpdate` teamMemberAdded/Removed to the bot, signed
   * like every activity. The roster changes first, so the bot can read it at once.
   */
  async teamMember(input: TeamMemberInput, action: InstallAction): Promise<TeamMemberResult> {
    const ctx = this.ctx;
    const team = ctx.org.teamById(input.teamId);
    if (!team)
      throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_TEAM", `No team ${input.teamId}; list teams with GET /_emulator/teams.`);
    const user = this.user(input.user);
    if (user.tenantIndex !== team.tenantIndex)
      throw new EmulatorError(
        400,
        "HERALD_E_EMULATOR_OTHER_TENANT",
        `${user.name} is not of team ${team.name}'s tenant; add a user of tenant ${ctx.org.tenants[team.tenantIndex]!.id}.`,
      );
    const by = input.by === undefined ? user : this.user(input.by);
    const installed = !ctx.state.teamRemoved[team.index];
    if (installed && !this.client) noBot();
    const changed = action === "add" ? ctx.state.rosters.add(team.index, user.index) : ctx.state.rosters.remove(team.index, user.index);
    const result: TeamMemberResult = {
      teamId: team.id,
      userId: user.id,
      aadObjectId: user.aadObjectId,
      member: action === "add",
      changed,
      activityId: null,
      deliveries: [],
    };
    // Teams tells the bot of a change only, and only where the app is installed.
    if (!changed || !installed) return result;
    const id = this.nextId();
    const activity = teamMembership(this.env(), id, team, by, user, action);
    result.activityId = id;
    for (let k = 0; k < (input.times ?? 1); k++) result.deliveries.push({ status: (await this.send(activity)).status });
    return result;
  }

  private place(
    user: OrgUser,
    input: { conversationId?: string; teamId?: string; channelId?: string; chatId?: string },
    newId: string,
  ): Place {
    const org = this.ctx.org;
    const raw = input.conversationId ?? input.channelId ?? input.chatId ?? (input.teamId ? org.teamById(input.teamId)?.id : undefined);
    if (raw === undefined) {
      if (input.teamId) throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_TEAM", `No team ${input.teamId}.`);
      return { kind: "personal", conversationId: org.personalConversationId(user.index) };
    }
    const ref = resolveConversation(org, raw);
    if (!ref) throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_CONVERSATION", `No conversation ${raw}.`);
    const notMember = () => new EmulatorError(400, "HERALD_E_EMULATOR_NOT_MEMBER", `${user.name} is not a member of ${raw}.`);
    if (ref.kind === "personal") {
      if (ref.user !== user.index) throw notMember();
      return { kind: "personal", conversationId: ref.id };
    }
    if (ref.kind === "chat") {
      if (!org.isChatMember(ref.chat.index, user.index)) throw notMember();
      return { kind: "chat", chat: ref.chat };
    }
    if (!this.ctx.state.rosters.has(ref.team.index, user.index)) throw notMember();
    return { kind: "channel", team: ref.team, channel: ref.channel, threadRoot: ref.thread ?? newId };
  }

  /** A user writes to the bot; the message is kept in the conversation and posted to the bot. */
  async message(input: UserMessageInput): Promise<{ id: string; conversationId: string; status: number; body: unknown }> {
    if (!this.client) noBot();
    const user = this.user(input.from);
    const id = this.nextId();
    const place = this.place(user, input, input.replyToId ?? id);
    const activity = userMessage(this.env(), id, user, place, input.text, input.replyToId);
    const conversationId = String((activity["conversation"] as Record<string, unknown>)["id"]);
    const ref = resolveConversation(this.ctx.org, conversationId);
    if (ref) storeUserMessage(this.ctx, ref, user.index, id, activity, place.kind === "channel" ? place.threadRoot : undefined);
    const answer = await this.send(activity);
    return { id, conversationId, ...answer };
  }

  /** A user presses an Action.Execute button; a card in the answer replaces the pressed one. */
  async invoke(input: InvokeInput): Promise<{ status: number; body: unknown; refreshed: boolean }> {
    if (!this.client) noBot();
    const user = this.user(input.from);
    const place = this.place(user, input, input.replyToId);
    const activity = cardInvoke(this.env(), this.nextId(), user, place, input.replyToId, input);
    const answer = await this.send(activity);
    const card = refreshedCard(answer.body);
    let refreshed = false;
    const ref = resolveConversation(this.ctx.org, String((activity["conversation"] as Record<string, unknown>)["id"]));
    const record = card && ref ? this.ctx.messages.find(ref.id, input.replyToId) : undefined;
    if (card && record) {
      const previous = JSON.parse(record.activity) as Record<string, unknown>;
      const next = { ...previous, attachments: [{ contentType: "application/vnd.microsoft.card.adaptive", content: card }] };
      this.ctx.messages.change(record, "refresh", this.ctx.clock.now(), JSON.stringify(next));
      refreshed = true;
    }
    return { status: answer.status, body: answer.body, refreshed };
  }

  private crowd(): CrowdDeps {
    if (!this.client) noBot();
    return {
      ctx: this.ctx,
      bot: this,
      env: () => this.env(),
      nextId: () => this.nextId(),
      place: (user, conversationId, replyToId) => this.place(user, { conversationId }, replyToId),
    };
  }

  /** Many users press the same Action.Execute at once (see crowd.ts). */
  invokes(target: CrowdTarget & { verb: string; data?: unknown; withBody?: boolean }): Promise<CrowdResult> {
    return invokeMany(this.crowd(), target);
  }

  /** Many users add or remove reactions at once (see crowd.ts). */
  reactions(target: CrowdTarget & { types: string[]; action: "add" | "remove" }): Promise<CrowdResult> {
    return reactMany(this.crowd(), target);
  }

  /** Many users read their 1:1 chats at once (each up to the bot's latest message, or `lastReadMessageId`). */
  async readMany(users: (string | number)[], lastReadMessageId?: string): Promise<CrowdResult> {
    const started = Date.now();
    const results = await Promise.all(
      users.map(async (who) => {
        const user = this.user(who);
        try {
          const r = await this.read(who, lastReadMessageId);
          return { from: user.id, status: r.status, replyToId: r.lastReadMessageId };
        } catch (e) {
          if (e instanceof EmulatorError) throw e;
          return { from: user.id, status: 0, replyToId: lastReadMessageId ?? "" };
        }
      }),
    );
    const statuses: Record<string, number> = {};
    for (const r of results) statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
    return { count: results.length, statuses, results, ms: Date.now() - started };
  }

  /** A user reads their 1:1 chat up to a message (default: the bot's latest kept message). */
  async read(from: string | number, lastReadMessageId?: string): Promise<{ status: number; lastReadMessageId: string }> {
    if (!this.client) noBot();
    const user = this.user(from);
    const conversationId = this.ctx.org.personalConversationId(user.index);
    let last = lastReadMessageId;
    if (!last) {
      const list = this.ctx.messages.list(conversationId);
      for (let i = list.length - 1; i >= 0 && !last; i--) if (list[i]!.from === "bot") last = list[i]!.id;
    }
    if (!last)
      throw new EmulatorError(
        400,
        "HERALD_E_EMULATOR_NOTHING_TO_READ",
        `${user.name} has no kept bot message to read; pass lastReadMessageId.`,
      );
    const answer = await this.send(readReceipt(this.env(), this.nextId(), user, conversationId, last));
    this.reads.set(user.index, last);
    return { status: answer.status, lastReadMessageId: last };
  }
}
