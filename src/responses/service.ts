import type { Clock } from "../clock.js";
import type { ConnectorClient } from "../connector/client.js";
import { ConnectorError } from "../connector/errors.js";
import { ADAPTIVE_CARD_CONTENT_TYPE } from "../delivery/message/activity.js";
import { type PreparedMessage, prepareMessage } from "../delivery/message/prepare.js";
import type { Recipient } from "../delivery/message/recipient.js";
import { renderActivity } from "../delivery/message/render.js";
import { ACK_VERB, type Answerable, answerableCard, answerableOf, POLL_VERB, VIEW_VERB } from "../delivery/message/responses.js";
import type { Message } from "../delivery/message/schema.js";
import type { DeliveryStore } from "../delivery/store/port.js";
import type { Activity } from "../inbound/activity.js";
import type { Logger } from "../log.js";
import type { DeliveryRef, ResponseStore } from "../store/responses.js";
import { AnswerBatcher } from "./answer-batch.js";
import { noticeCard, personalView, sharedView, type ViewState } from "./cards.js";
import { ChannelCards } from "./channel-cards.js";
import { chosenOptions, isClosed, type Refusal, refusalText } from "./decide.js";

type Card = Record<string, unknown>;

export interface ResponseServiceDeps {
  responses: ResponseStore;
  deliveries: Pick<DeliveryStore, "getNotification">;
  connector: Pick<ConnectorClient, "updateActivity">;
  clock: Clock;
  logger: Logger;
  /** The bot's app id (the `from` of a card update). */
  appId?: string | undefined;
  /** At most one shared-card update per channel conversation per this many ms (default 2000). */
  cardUpdateIntervalMs?: number;
  /** Called for every refusal (metrics, tests). */
  onRefusal?: (code: Refusal) => void;
}

interface Entry {
  answerable: Answerable | undefined;
  prepared: PreparedMessage | undefined;
  version: number;
  loadedAt: number;
}

/** How long a notification's compiled message is reused before it is read again (an edit shows within this). */
const entryTtlMs = 5_000;
const maxCached = 50_000;

/**
 * Answers to notifications (issue 10): Action.Execute votes and acknowledgements (verbs
 * `herald.response.*`), reactions and read receipts, recorded against the delivery that carried the
 * message (found by the conversation and the bot's activity id, `replyToId`). Each vote is one
 * transaction; the clicker gets their own view at once; channel cards are updated, coalesced.
 */
export class ResponseService {
  readonly channelCards: ChannelCards;
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry | undefined>>();
  private readonly refs = new Map<string, DeliveryRef>();
  private readonly batcher: AnswerBatcher;
  /** The card as first sent to a channel or group chat (the same for everyone there), per notification version. */
  private readonly sharedOriginals = new Map<string, Card>();

  constructor(private readonly deps: ResponseServiceDeps) {
    this.batcher = new AnswerBatcher(deps.responses);
    this.channelCards = new ChannelCards({
      clock: deps.clock,
      logger: deps.logger,
      intervalMs: deps.cardUpdateIntervalMs ?? 2_000,
      update: (ref) => this.updateSharedCard(ref),
    });
  }

  /** Schedule the channel-card updates a previous run still owed. */
  async start(): Promise<void> {
    const stale = await this.deps.responses.staleCards(10_000);
    for (const s of stale) this.channelCards.touch(s.ref);
    if (stale.length > 0) this.deps.logger.info({ cards: stale.length }, "channel poll cards owed an update: sending");
  }

  async stop(): Promise<void> {
    await this.channelCards.stop();
  }

  /** The CardActions handler of `herald.response`: returns the card the clicker sees. */
  cardAction = async (activity: Activity, verb: string, data: unknown): Promise<Card | undefined> => {
    const ref = await this.locate(activity);
    const entry = ref && (await this.entry(ref.notificationId));
    const a = entry?.answerable;
    if (!ref || !entry || !a) return this.refuse("HERALD_E_RESPONSE_UNKNOWN");
    if (!isRecipient(ref, activity)) return this.refuse("HERALD_E_RESPONSE_NOT_RECIPIENT");
    const original = ref.personal ? this.originalCard(entry, a, recipientOf(activity, ref)) : this.sharedOriginal(ref, entry, a);
    const userId = activity.from.id;
    const closed = isClosed(a, this.deps.clock.now());
    const optionCount = a.kind === "poll" ? a.poll.options.length : 0;
    const view = async (notice?: ViewState["notice"], mine?: ViewState["mine"]): Promise<Card> => {
      const [totals, answered] = await Promise.all([
        this.deps.responses.totals(ref.notificationId, optionCount),
        mine === undefined ? this.deps.responses.answerOf(ref.notificationId, userId) : mine,
      ]);
      return personalView(original, a, { totals, mine: answered, closed, notice });
    };
    const refused = (code: Refusal, mine?: ViewState["mine"]) => {
      this.deps.onRefusal?.(code);
      return view({ text: refusalText[code], tone: "attention" }, mine);
    };

    if (verb === VIEW_VERB || (verb !== POLL_VERB && verb !== ACK_VERB)) return view();
    if ((verb === POLL_VERB) !== (a.kind === "poll")) return refused("HERALD_E_RESPONSE_WRONG_KIND");
    if (closed) return refused("HERALD_E_RESPONSE_CLOSED");
    let options: number[] = [];
    if (a.kind === "poll") {
      const chosen = chosenOptions(a, data);
      if (!chosen.ok) return refused(chosen.refusal);
      options = chosen.options;
    }
    const anonymous = a.kind === "poll" && a.poll.anonymous === true;
    const outcome = await this.batcher.answer({
      notificationId: ref.notificationId,
      deliverySeq: ref.seq,
      tenantId: ref.tenantId,
      userId,
      userName: activity.from.name ?? undefined,
      kind: a.kind,
      options,
      anonymous,
      optionCount,
      at: new Date(this.deps.clock.now()).toISOString(),
    });
    if (!outcome.stored) return refused("HERALD_E_RESPONSE_DUPLICATE");
    if (!ref.personal) this.channelCards.touch(ref);
    const mine: ViewState["mine"] = a.kind === "poll" ? options : true;
    const thanks = a.kind === "poll" ? "Thanks: your answer is recorded." : "Thanks: your acknowledgement is recorded.";
    return personalView(original, a, { totals: outcome.totals, mine, closed, notice: { text: thanks, tone: "good" } });
  };

  /** A `messageReaction` activity: reactions added to or removed from one of Herald's messages. */
  async reaction(activity: Activity): Promise<void> {
    try {
      await this.recordReaction(activity);
    } catch (e) {
      // A reaction not recorded is no reason to fail Teams' request (it would retry it).
      this.deps.logger.warn({ err: (e as Error).message, conversationId: activity.conversation.id }, "reaction not recorded");
    }
  }

  private async recordReaction(activity: Activity): Promise<void> {
    const ref = await this.locate(activity);
    if (!ref) return;
    const raw = activity as Activity & { reactionsAdded?: unknown; reactionsRemoved?: unknown };
    const at = new Date(this.deps.clock.now()).toISOString();
    const added = reactionTypes(raw.reactionsAdded);
    const removed = reactionTypes(raw.reactionsRemoved);
    if (added.length > 0) await this.deps.responses.react(ref, activity.from.id, added, true, at);
    if (removed.length > 0) await this.deps.responses.react(ref, activity.from.id, removed, false, at);
  }

  /** The read-receipt event of a 1:1 chat: the user read the bot's messages up to `lastReadMessageId`. */
  async readReceipt(activity: Activity, lastReadMessageId: string | undefined): Promise<void> {
    if (!lastReadMessageId) return;
    try {
      await this.deps.responses.markRead(activity.conversation.id, lastReadMessageId, new Date(this.deps.clock.now()).toISOString());
    } catch (e) {
      this.deps.logger.warn({ err: (e as Error).message, conversationId: activity.conversation.id }, "read receipt not recorded");
    }
  }

  private refuse(code: Refusal): Card {
    this.deps.onRefusal?.(code);
    return noticeCard(refusalText[code]);
  }

  /** The delivery the activity refers to: its conversation and `replyToId` (the bot's activity id). */
  private async locate(activity: Activity): Promise<DeliveryRef | undefined> {
    const activityId = activity.replyToId;
    if (!activityId) return undefined;
    const key = `${activity.conversation.id}\n${activityId}`;
    const cached = this.refs.get(key);
    if (cached) return cached;
    const ref = await this.deps.responses.findDelivery(activity.conversation.id, activityId);
    if (ref) {
      if (this.refs.size >= maxCached) this.refs.clear();
      this.refs.set(key, ref);
    }
    return ref;
  }

  /** The notification's answerable part and compiled message, read at most once per entryTtlMs. */
  private async entry(notificationId: string): Promise<Entry | undefined> {
    const cached = this.entries.get(notificationId);
    if (cached && this.deps.clock.now() - cached.loadedAt < entryTtlMs) return cached;
    let pending = this.loading.get(notificationId);
    if (!pending) {
      pending = this.load(notificationId, cached).finally(() => this.loading.delete(notificationId));
      this.loading.set(notificationId, pending);
    }
    return pending;
  }

  private async load(notificationId: string, previous: Entry | undefined): Promise<Entry | undefined> {
    const n = await this.deps.deliveries.getNotification(notificationId);
    if (!n) {
      this.entries.delete(notificationId);
      return undefined;
    }
    const now = this.deps.clock.now();
    if (previous && previous.version === n.messageVersion) {
      previous.loadedAt = now;
      return previous;
    }
    let prepared: PreparedMessage | undefined;
    try {
      prepared = prepareMessage(n.message as Message, { data: n.data });
    } catch {
      prepared = undefined;
    }
    const entry: Entry = {
      answerable: n.canceledAt ? undefined : answerableOf(n.message),
      prepared,
      version: n.messageVersion,
      loadedAt: now,
    };
    if (this.entries.size >= maxCached) this.entries.clear();
    this.entries.set(notificationId, entry);
    return entry;
  }

  /** The card as first sent to this recipient (rendered again); the bare poll or ack card if that fails. */
  private originalCard(entry: Entry, a: Answerable, recipient: Recipient): Card {
    if (entry.prepared) {
      try {
        const content = renderActivity(entry.prepared, recipient).attachments?.[0]?.content;
        // Never changed: the views build new objects around it.
        if (content) return content;
      } catch {
        // A template that fails for this recipient: fall back to the poll itself.
      }
    }
    return answerableCard(a, undefined);
  }

  /** The card of a channel post or group chat as first sent: rendered once per notification version. */
  private sharedOriginal(ref: DeliveryRef, entry: Entry, a: Answerable): Card {
    const key = `${ref.notificationId}\n${entry.version}\n${ref.conversationId}`;
    let card = this.sharedOriginals.get(key);
    if (!card) {
      card = this.originalCard(entry, a, { id: ref.conversationId, tenantId: ref.tenantId });
      if (this.sharedOriginals.size >= 1_000) this.sharedOriginals.clear();
      this.sharedOriginals.set(key, card);
    }
    return card;
  }

  /** PUT the channel post's card with the totals as stored now; remember what it showed. */
  private async updateSharedCard(ref: DeliveryRef): Promise<number> {
    const entry = await this.entry(ref.notificationId);
    const a = entry?.answerable;
    if (!entry || !a) return 0;
    const optionCount = a.kind === "poll" ? a.poll.options.length : 0;
    const [totals, voters] = await Promise.all([
      this.deps.responses.totals(ref.notificationId, optionCount),
      a.kind === "poll" && a.poll.anonymous === true ? [] : this.deps.responses.voters(ref.notificationId, 60),
    ]);
    const original = this.sharedOriginal(ref, entry, a);
    const card = sharedView(original, a, totals, isClosed(a, this.deps.clock.now()), voters);
    const activity = {
      type: "message",
      id: ref.activityId,
      conversation: { id: ref.conversationId },
      ...(this.deps.appId ? { from: { id: `28:${this.deps.appId}` } } : {}),
      attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content: card }],
    };
    try {
      await this.deps.connector.updateActivity(ref.serviceUrl ?? "", ref.conversationId, ref.activityId, activity);
    } catch (e) {
      // The message is gone (deleted in Teams, its channel removed): no later PUT can land. Marked
      // as shown so neither the retry nor a restart (staleCards) tries it again; other errors retry.
      if (!(e instanceof ConnectorError && (e.status === 404 || e.status === 410))) throw e;
      this.deps.logger.info(
        { notificationId: ref.notificationId, conversationId: ref.conversationId, status: e.status },
        "channel poll card no longer exists: its totals are not updated any more",
      );
    }
    await this.deps.responses.cardShown(ref.notificationId, ref.seq, totals.respondents);
    // A vote stored meanwhile by another process may have had its PUT land before this one, which
    // then overwrote newer totals (and card_total is already past them): one more update.
    const after = await this.deps.responses.totals(ref.notificationId, optionCount);
    if (after.respondents !== totals.respondents) this.channelCards.touch(ref);
    return totals.respondents;
  }
}

/** In a 1:1 chat only its user may answer; in channels and group chats anyone in the tenant. */
function isRecipient(ref: DeliveryRef, activity: Activity): boolean {
  const tenant = activity.channelData?.tenant?.id ?? activity.conversation.tenantId ?? "";
  if (ref.tenantId && tenant && tenant !== ref.tenantId) return false;
  if (!ref.personal) return true;
  if (ref.userId === undefined && ref.userAadObjectId === undefined) return true;
  // A row may name its person by Teams id or by Entra object id: either of the clicker's ids may match either.
  const known = new Set([ref.userId, ref.userAadObjectId].filter((x): x is string => x !== undefined && x !== ""));
  return known.has(activity.from.id) || (typeof activity.from.aadObjectId === "string" && known.has(activity.from.aadObjectId));
}

function recipientOf(activity: Activity, ref: DeliveryRef): Recipient {
  if (!ref.personal) return { id: ref.conversationId, tenantId: ref.tenantId };
  return {
    id: activity.from.id,
    aadObjectId: activity.from.aadObjectId ?? undefined,
    name: activity.from.name ?? undefined,
    tenantId: ref.tenantId,
  };
}

function reactionTypes(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (const r of list) {
    const type = (r as { type?: unknown } | null)?.type;
    if (typeof type === "string" && type.length > 0 && type.length <= 100 && !out.includes(type)) out.push(type);
  }
  return out;
}
