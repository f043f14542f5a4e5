import type { Account, ConversationRecord } from "../domain/conversation.js";
import { type Logger, sanitize } from "../log.js";
import { parsePreferenceCommand, runPreferenceCommand } from "../preferences/commands.js";
import { PreferenceService } from "../preferences/service.js";
import type { ConversationObservation, Store } from "../store/ports.js";
import { withinOr } from "../within.js";
import type { Activity } from "./activity.js";
import { type InboundEvent, interpret } from "./events.js";
import {
  cardSubmitMessage,
  groupChatWelcome,
  helpMessage,
  type OutgoingMessage,
  optedInMessage,
  optedOutMessage,
  personalWelcome,
  responsesNotCollectedText,
  teamWelcome,
  unknownCommandMessage,
  type WelcomeTemplates,
} from "./messages.js";
import { RecentObservations } from "./recent-observations.js";
import { account, observe, tenantOf } from "./reference.js";
import { type OutOfScope, outOfScope, teamsChannelId } from "./scope.js";

/** How the bot answers in a conversation; the composition root adapts the Connector client. */
export interface BotReplies {
  /**
   * Send in the conversation; `tenantId` picks the rate-limit budget. `key` (`welcome:<activity id>`,
   * `answer:<activity id>`) makes a durable implementation send once per key, so a redelivered
   * activity does not reply twice.
   */
  send(serviceUrl: string, conversationId: string, message: OutgoingMessage, tenantId: string, key?: string): Promise<void>;
  /**
   * The user of a conversation as Teams knows them (install events carry no name): id, name,
   * Entra object id. Undefined when Teams does not answer.
   */
  member(serviceUrl: string, conversationId: string, userId: string, tenantId: string): Promise<Account | undefined>;
  /** Name of a team channel, when it can be found (the General channel has no name in Teams). */
  channelName(serviceUrl: string, teamId: string, channelId: string): Promise<string | undefined>;
  /** Resolve once the messages `send` accepted so far are sent or final (durable replies; tests, demo). */
  settle?(): Promise<void>;
  /** The team's channels (`GET /v3/teams/{id}/conversations`), when Teams answers. */
  teamChannels?(serviceUrl: string, teamId: string): Promise<{ id: string; name?: string | undefined }[]>;
}

/** What the bot reads of Teams, apart from what it says (server/paced-reads.ts). */
export type BotReads = Pick<BotReplies, "member" | "channelName" | "teamChannels">;

/** Text a person typed in their 1:1 chat, as the handler passes it on (to a running survey). */
export interface PersonalText {
  tenantId: string;
  userId: string;
  aadObjectId?: string | undefined;
  userName?: string | undefined;
  conversationId: string;
  serviceUrl: string;
  /** The inbound activity's id: applied once, replied to once. */
  activityId?: string | undefined;
  text: string;
}

export interface ActivityHandlerDeps {
  store: Store;
  replies: BotReplies;
  logger: Logger;
  now: () => string;
  welcome?: WelcomeTemplates | undefined;
  /** A user of this tenant interacted with the bot (lifts a BotDisabledByAdmin pause). */
  onTenantInteraction?: (tenantId: string) => void;
  /**
   * Text typed in a 1:1 chat, before the commands: true when a running survey took it
   * (src/surveys SurveyService.onText). Awaited before Teams gets its 200.
   */
  onPersonalText?: (input: PersonalText) => Promise<boolean>;
  /** A user answered a card (Action.Execute); returns the card to show instead, if any. */
  onCardAction?: (activity: Activity, verb: string | undefined, data: unknown) => Promise<Record<string, unknown> | undefined>;
  /** A `messageReaction` activity (reactions added to or removed from a bot message; issue 10). */
  onReaction?: (activity: Activity) => Promise<void>;
  /** The 1:1 read-receipt event: the user read the bot's messages up to `lastReadMessageId` (issue 10). */
  onReadReceipt?: (activity: Activity, lastReadMessageId: string | undefined) => Promise<void>;
  /**
   * Send none of Herald's own words (welcome, answers to commands and card submits): the library
   * inside a bot that speaks for itself. Commands still change the user's opt-out. Default false.
   */
  quiet?: boolean | undefined;
  /** Categories and the choices behind `stop <category>`, `start <category>`, `settings`; default: over `store.preferences`, any category. */
  preferences?: PreferenceService | undefined;
  /**
   * A person's name Herald already has (the proactive install step leaves it from the directory):
   * used instead of asking Teams, whose member read takes a slot of the tenant's rate.
   */
  knownName?: ((tenantId: string, aadObjectId: string) => string | undefined) | undefined;
  /** How long an install's welcome holds other messages into its conversation at most, in ms (WelcomeStore). Default 10 s. */
  welcomeHoldMs?: number | undefined;
}

/** The welcome hold an install asks of its upsert (ConversationStore.upsert's `welcome`). */
type WelcomeHoldAsk = { conversationId: string; until: string };

export interface HandlerResult {
  /** Body of the HTTP answer (invoke responses); undefined = empty 200. */
  body?: unknown;
  event: InboundEvent["type"];
  /** Set when the activity was not used at all (another channel than Teams, no tenant): nothing stored or sent. */
  outOfScope?: OutOfScope;
}

/** A Map, not an object literal: the user's text must never find `constructor` or `__proto__`. */
const commands: ReadonlyMap<string, "stop" | "start" | "help"> = new Map([
  ["stop", "stop"],
  ["unsubscribe", "stop"],
  ["opt out", "stop"],
  ["stop all", "stop"],
  ["start", "start"],
  ["subscribe", "start"],
  ["opt in", "start"],
  ["start all", "start"],
  ["help", "help"],
  ["?", "help"],
]);

/**
 * Everything Herald does when Teams talks to the bot: remember and refresh the conversation,
 * follow installs, uninstalls and team/channel changes, welcome once per install, and answer
 * the user's commands. The activity is already authenticated and validated.
 */
export class ActivityHandler {
  private readonly background = new Set<Promise<void>>();
  private readonly preferences: PreferenceService;
  /** The conversation upsert of repeated observations (a vote flood in one channel), made cheap. */
  private readonly recent: RecentObservations;

  constructor(private readonly deps: ActivityHandlerDeps) {
    this.preferences = deps.preferences ?? new PreferenceService(deps.store.preferences, undefined, deps.now);
    this.recent = new RecentObservations(deps.store.conversations);
  }

  async handle(activity: Activity): Promise<HandlerResult> {
    const refused = outOfScope(activity);
    if (refused) {
      const fields = { channelId: sanitize(activity.channelId, 60), activityType: sanitize(activity.type, 60) };
      if (refused === "notTeams")
        this.deps.logger.info(
          fields,
          `activity from a Bot Framework channel other than Teams ("${teamsChannelId}") ignored: nothing stored or sent (turn the channel off in the Azure Bot resource if unused)`,
        );
      else
        this.deps.logger.warn(
          { ...fields, conversationId: sanitize(activity.conversation.id) },
          "Teams activity without a tenant id (channelData.tenant.id or conversation.tenantId) ignored: nothing stored or sent",
        );
      return { event: "ignored", outOfScope: refused };
    }
    const event = interpret(activity);
    const at = this.deps.now();
    const observation = observe(activity, at);
    // The child logger is made on first use: building its bindings (redaction included) for every
    // vote of a flood, to log nothing at the usual level, was measurable (bench/invokes.js).
    let child: Logger | undefined;
    const fields = { conversationId: observation.id, tenantId: observation.tenantId, activityType: activity.type };
    const logger = (): Logger => {
      child ??= this.deps.logger.child(fields);
      return child;
    };
    applyStatus(observation, event);
    // Users acting (votes, messages, reactions, read receipts) may take the cheap path; lifecycle
    // events always run the full upsert, and may change rows beyond this one, so the cache is dropped.
    const everyday =
      event.type === "message" ||
      event.type === "cardAction" ||
      event.type === "cardSubmit" ||
      event.type === "readReceipt" ||
      event.type === "ignored";
    if (!everyday) this.recent.forgetAll();
    // An install that activates the conversation is welcomed: the upsert holds the conversation
    // for that welcome in its own transaction, so that no message of another notification reaches
    // it first, in any process (WelcomeStore). Only the activating upsert does, of the two events
    // Teams sends per install (they may land in two processes at once).
    const hold = event.type === "installed" ? this.welcomeHold(activity, observation, at) : undefined;
    const { record, activated } = everyday
      ? await this.recent.record(observation)
      : await this.deps.store.conversations.upsert(observation, hold);
    if (this.deps.logger.isLevelEnabled("debug")) logger().debug({ event: event.type, created: activated }, "activity recorded");

    const interactive =
      event.type === "message" || event.type === "cardAction" || event.type === "cardSubmit" || event.type === "readReceipt";
    if (interactive && observation.tenantId) this.deps.onTenantInteraction?.(observation.tenantId);

    switch (event.type) {
      case "installed":
        if (record.team) {
          await this.deps.store.conversations.setTeamStatus(record.team.id, "active", event.source, at);
          // Every channel of the team becomes an audience, also those nobody wrote in yet (issue 15).
          // Listed again on each install event of the team (installationUpdate, one per install),
          // not only when the team turns active: a team Herald already held as active (learnt from
          // a message, or whose removal it missed) gets its channels made since then.
          if (activated || event.source.startsWith("installationUpdate:"))
            this.track(this.recordChannels(observation, record.team.id, logger));
        }
        // Awaited: the welcome is stored (durable replies) before Teams gets its 200.
        if (activated && !this.deps.quiet) {
          if (!(await this.settled(logger(), this.welcome(activity, record)))) await this.releaseHold(hold, at, logger);
        } else logger().debug("repeated install: no welcome");
        return { event: event.type };
      case "uninstalled":
        if (record.team) await this.deps.store.conversations.setTeamStatus(record.team.id, "uninstalled", event.source, at);
        logger().info({ source: event.source }, "bot uninstalled");
        return { event: event.type };
      case "channelCreated":
      case "channelRenamed":
      case "channelRestored":
        await this.deps.store.conversations.upsert({
          ...observation,
          id: event.channel.id,
          channel: event.channel,
          status: event.type === "channelRenamed" ? undefined : "active",
          statusCode: event.type,
        });
        return { event: event.type };
      case "channelDeleted":
        await this.deps.store.conversations.setStatus(event.channel.id, "deleted", event.type, at);
        return { event: event.type };
      case "teamRenamed":
        if (record.team && event.name) await this.deps.store.conversations.renameTeam(record.team.id, event.name, at);
        return { event: event.type };
      case "teamDeleted":
      case "teamRestored":
        if (record.team)
          await this.deps.store.conversations.setTeamStatus(
            record.team.id,
            event.type === "teamDeleted" ? "deleted" : "active",
            event.type,
            at,
          );
        return { event: event.type };
      case "teamArchived":
      case "teamUnarchived":
        if (record.team) await this.deps.store.conversations.setTeamArchived(record.team.id, event.type === "teamArchived", at);
        return { event: event.type };
      case "teamMemberAdded":
      case "teamMemberRemoved": {
        // Kept like installs: a status per team and person, so Herald can start the person's 1:1
        // chat (Teams id, the team's serviceUrl) before they ever write (issue 15).
        const team = observation.team ?? record.team;
        if (team && this.deps.store.teamMembers)
          await this.deps.store.teamMembers.record({
            teamId: team.id,
            tenantId: record.tenantId,
            serviceUrl: activity.serviceUrl,
            users: event.members,
            status: event.type === "teamMemberAdded" ? "member" : "removed",
            statusCode: event.type,
            changedAt: timeOf(activity, at),
            at,
          });
        logger().info({ event: event.type, members: event.members.length }, "team roster changed");
        return { event: event.type };
      }
      case "message":
        // A running survey takes the person's text first (its answer); the commands get the rest.
        // Opting out (`stop`) always works: it is never taken as an answer.
        if (record.kind === "personal" && commands.get(event.text) !== "stop" && (await this.surveyText(activity)))
          return { event: event.type };
        await this.settled(logger(), this.answer(activity, event.text));
        return { event: event.type };
      case "cardAction":
        return { event: event.type, body: await this.cardAction(activity, event.verb, event.data, event.automatic) };
      case "cardSubmit":
        if (this.deps.quiet) return { event: event.type };
        // Reply where the user pressed the button (a channel thread is its own conversation id).
        await this.settled(
          logger(),
          this.deps.replies.send(
            activity.serviceUrl,
            activity.conversation.id,
            cardSubmitMessage(),
            tenantOf(activity),
            keyOf("submit", activity),
          ),
        );
        return { event: event.type };
      case "readReceipt":
        await this.deps.onReadReceipt?.(activity, event.lastReadMessageId);
        return { event: event.type };
      case "ignored":
        if (activity.type === "messageReaction") await this.deps.onReaction?.(activity);
        return { event: event.type };
    }
  }

  /**
   * The team's channels as Teams lists them, each stored with the team's reference (its
   * serviceUrl, tenant, team): a channel can then be named by id in an audience before anyone
   * wrote in it. Channels already known keep their status.
   */
  private async recordChannels(observation: ConversationObservation, teamId: string, logger: () => Logger): Promise<void> {
    const list = this.deps.replies.teamChannels;
    if (!list) return;
    try {
      const channels = await list.call(this.deps.replies, observation.serviceUrl, teamId);
      for (const c of channels) {
        if (c.id === observation.id) continue;
        await this.deps.store.conversations.upsert({ ...observation, id: c.id, channel: { id: c.id, name: c.name } });
      }
    } catch (e) {
      logger().warn({ err: (e as Error).message, teamId }, "could not list the team's channels; they are learnt as they are used");
    }
  }

  private track(work: Promise<void>): void {
    this.background.add(work);
    void work.finally(() => this.background.delete(work));
  }

  /** Wait for welcome messages and answers still being sent (shutdown, tests). */
  async drain(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
    await this.deps.replies.settle?.();
  }

  private async surveyText(activity: Activity): Promise<boolean> {
    if (!this.deps.onPersonalText) return false;
    return this.deps.onPersonalText({
      tenantId: tenantOf(activity),
      userId: activity.from.id,
      aadObjectId: activity.from.aadObjectId ?? undefined,
      userName: activity.from.name ?? undefined,
      conversationId: activity.conversation.id,
      serviceUrl: activity.serviceUrl,
      activityId: activity.id ?? undefined,
      text: activity.text ?? "",
    });
  }

  /** A reply that fails is logged, not thrown: the activity itself was handled. False when it failed. */
  private async settled(log: Logger, work: Promise<void>): Promise<boolean> {
    return work.then(
      () => true,
      (e: unknown) => {
        log.warn({ err: e instanceof Error ? { message: e.message, code: (e as { code?: unknown }).code } : e }, "reply failed");
        return false;
      },
    );
  }

  /**
   * The welcome hold an install asks its upsert for: the conversation the welcome goes to (a
   * team's: the selected channel, when it is one of the team's), for at most `welcomeHoldMs`;
   * ended early when the welcome is sent (the engine's `onFinished`) or cannot be stored
   * (`releaseHold`). None when quiet (no welcome) or without a WelcomeStore.
   */
  private welcomeHold(activity: Activity, observation: { id: string; kind: string }, at: string): WelcomeHoldAsk | undefined {
    if (this.deps.quiet || !this.deps.store.welcomes) return undefined;
    const selected = activity.channelData?.settings?.selectedChannel?.id;
    // A channel of the same team: its id carries the team's thread (`19:...@thread.tacv2`), never another conversation's.
    const conversationId =
      observation.kind === "channel" && selected?.startsWith("19:") && selected.includes("@thread") ? selected : observation.id;
    return { conversationId, until: new Date(Date.parse(at) + (this.deps.welcomeHoldMs ?? 10_000)).toISOString() };
  }

  /** The welcome could not be stored: the conversation is free again (a hold naming a welcome stays: WelcomeStore.cancel). */
  private async releaseHold(hold: WelcomeHoldAsk | undefined, askedAt: string, logger: () => Logger): Promise<void> {
    if (!hold) return;
    await this.deps.store.welcomes
      ?.cancel(hold.conversationId, askedAt, this.deps.now())
      .catch((e: unknown) =>
        logger().warn({ err: e instanceof Error ? e.message : e }, "could not release the welcome hold; it ends by itself"),
      );
  }

  /** Ask Teams for the user's name (needed for the welcome and for `${name}` templating) and keep it. */
  private async learnName(record: ConversationRecord, user: Account): Promise<ConversationRecord> {
    try {
      const known = user.aadObjectId ? this.deps.knownName?.(record.tenantId, user.aadObjectId) : undefined;
      const member = known
        ? { name: known, aadObjectId: user.aadObjectId }
        : await this.deps.replies.member(record.serviceUrl, record.id, user.id, record.tenantId);
      if (!member?.name) return record;
      const { record: updated } = await this.deps.store.conversations.upsert({
        id: record.id,
        kind: record.kind,
        tenantId: record.tenantId,
        serviceUrl: record.serviceUrl,
        channelId: record.channelId,
        bot: record.bot,
        user: { id: user.id, name: member.name, aadObjectId: member.aadObjectId ?? user.aadObjectId },
        at: this.deps.now(),
      });
      return updated;
    } catch {
      return record;
    }
  }

  private async welcome(activity: Activity, installed: ConversationRecord): Promise<void> {
    let record = installed;
    const botName = activity.recipient.name || "Herald";
    const installer = account(activity.from);
    if (record.kind === "personal") {
      if (record.user && !record.user.name) record = await withinOr(this.learnName(record, record.user), lookupBoundMs, record);
      const message = personalWelcome(
        { botName, userName: record.user?.name, installerName: installer.name, selfInstalled: installer.id === record.user?.id },
        this.deps.welcome,
      );
      await this.deps.replies.send(record.serviceUrl, record.id, message, record.tenantId, keyOf("welcome", activity));
      return;
    }
    if (record.kind === "groupChat") {
      const message = groupChatWelcome({ botName, installerName: installer.name }, this.deps.welcome);
      await this.deps.replies.send(record.serviceUrl, record.id, message, record.tenantId, keyOf("welcome", activity));
      return;
    }
    const team = record.team;
    const selected = activity.channelData?.settings?.selectedChannel?.id ?? record.id;
    const channelName = team ? await withinOr(this.channelName(activity, team.id, selected), lookupBoundMs, undefined) : undefined;
    const message = teamWelcome({ botName, installerName: installer.name, teamName: team?.name, channelName }, this.deps.welcome);
    await this.deps.replies.send(record.serviceUrl, selected, message, record.tenantId, keyOf("welcome", activity));
  }

  private async channelName(activity: Activity, teamId: string, channelId: string): Promise<string | undefined> {
    if (activity.channelData?.channel?.id === channelId && activity.channelData.channel.name) return activity.channelData.channel.name;
    if (channelId === teamId) return "General";
    try {
      return await this.deps.replies.channelName(activity.serviceUrl, teamId, channelId);
    } catch {
      return undefined;
    }
  }

  private async answer(activity: Activity, text: string): Promise<void> {
    const botName = activity.recipient.name || "Herald";
    const tenantId = tenantOf(activity);
    const userId = activity.from.id;
    const command = commands.get(text);
    const preferenceCommand = command ? undefined : parsePreferenceCommand(text);
    let reply: OutgoingMessage;
    if (preferenceCommand) {
      reply = await runPreferenceCommand(this.preferences, preferenceCommand, tenantId, userId, botName);
    } else if (command === "stop") {
      await this.deps.store.preferences.setOptedOut(tenantId, userId, true, this.deps.now());
      reply = optedOutMessage(botName);
    } else if (command === "start") {
      await this.deps.store.preferences.setOptedOut(tenantId, userId, false, this.deps.now());
      reply = optedInMessage(botName);
    } else if (command === "help") {
      const pref = await this.deps.store.preferences.get(tenantId, userId);
      reply = helpMessage(botName, pref?.optedOut ?? false);
    } else {
      reply = unknownCommandMessage(botName, text || "(nothing)");
    }
    if (this.deps.quiet) return;
    // Reply where the user wrote: in a channel that is the thread (`...;messageid=N`).
    await this.deps.replies.send(activity.serviceUrl, activity.conversation.id, reply, tenantId, keyOf("answer", activity));
  }

  private async cardAction(activity: Activity, verb: string | undefined, data: unknown, automatic: boolean): Promise<unknown> {
    const card = await this.deps.onCardAction?.(activity, verb, data);
    if (card) return { statusCode: 200, type: "application/vnd.microsoft.card.adaptive", value: card };
    // An automatic refresh (a card's `refresh` clause, trigger "automatic") is no user action:
    // nothing to tell anyone. An empty 200 leaves the card as it is.
    if (automatic) return undefined;
    // Universal Actions: a 200 message response is shown to the user under the card. It says the
    // truth: nothing stores card responses until a card-action handler is configured.
    return { statusCode: 200, type: "application/vnd.microsoft.activity.message", value: responsesNotCollectedText };
  }
}

/**
 * How long a welcome waits for Teams to tell the user's or channel's name. The welcome is stored
 * before the install is answered, and Teams gives up on an answer after 15 s (then sends the
 * install again, which welcomes nobody): a tenant-wide install queues thousands of lookups on the
 * tenant's budget, so past this bound the welcome goes without the name.
 */
const lookupBoundMs = 3_000;

/**
 * When Teams says the activity happened (its `timestamp`), else `fallback`: orders changes Teams
 * sent. Never later than `fallback` (Herald's now): a timestamp ahead (a wrong clock, a forged
 * field) would otherwise outrank every later change of the same row for good.
 */
function timeOf(activity: Activity, fallback: string): string {
  const t = activity.timestamp ? Date.parse(activity.timestamp) : Number.NaN;
  return Number.isFinite(t) ? new Date(Math.min(t, Date.parse(fallback))).toISOString() : fallback;
}

/** Idempotency key of the reply to an activity: the same activity delivered again gets the same key. */
function keyOf(kind: string, activity: Activity): string | undefined {
  return activity.id ? `${kind}:${activity.conversation.id}:${activity.id}` : undefined;
}

/**
 * An install makes the conversation active, an uninstall marks it; a user writing or acting
 * proves the bot is installed and not blocked, so it reactivates a blocked or uninstalled chat.
 */
function applyStatus(observation: ConversationObservation, event: InboundEvent): void {
  if (event.type === "installed") {
    observation.status = "active";
    observation.statusCode = event.source;
    observation.installedBy = event.by;
  } else if (event.type === "uninstalled") {
    observation.status = "uninstalled";
    observation.statusCode = event.source;
  } else if (event.type === "message" || event.type === "cardAction" || event.type === "cardSubmit") {
    observation.status = "active";
    observation.statusCode = `user:${event.type}`;
  }
}
