import { randomUUID } from "node:crypto";
import type { Clock } from "../clock.js";
import type { SurveyHook, SurveyOffered, SurveyStart } from "../delivery/dispatch/survey-hook.js";
import type { ReplyRequest } from "../delivery/engine.js";
import type { MessageActivity } from "../delivery/message/activity.js";
import { literal } from "../delivery/message/literal.js";
import { prepareMessage } from "../delivery/message/prepare.js";
import { renderActivity } from "../delivery/message/render.js";
import type { Message } from "../delivery/message/schema.js";
import type { Survey } from "../delivery/message/survey.js";
import type { PersonalText } from "../inbound/handler.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/ports.js";
import {
  advance,
  type EndReason,
  emptyState,
  end,
  isCancel,
  matchAnswer,
  type Next,
  offer,
  type SessionState,
  type SurveyRun,
  see,
} from "./machine.js";
import { endWords, pickWords, questionMessage, resumeWords, startWords, wordsMessage } from "./messages.js";
import type { SurveyAnswer, SurveySession } from "./port.js";

export interface SurveyServiceDeps {
  store: Pick<Store, "surveys" | "conversations" | "deliveries" | "preferences">;
  /** The delivery engine's reply (DeliveryEngine.reply): every question after the first is a durable reply. */
  reply(request: ReplyRequest): Promise<unknown>;
  clock: Clock;
  /** HERALD_SURVEY_TIMEOUT in ms. */
  timeoutMs: number;
  logger: Logger;
}

/** A typed text in a person's 1:1 chat, as the inbound handler passes it. */
export type SurveyText = PersonalText;

/** Bounded retries of an optimistic write; each conflict means another writer made progress. */
const maxConflicts = 20;

/**
 * Surveys (issue 10): the delivery engine offers each survey row here (SurveyHook), the inbound
 * handler gives every text typed in a 1:1 chat to `onText` before its commands, and `sweep` ends
 * surveys nobody answered within HERALD_SURVEY_TIMEOUT. Every change is one optimistic write of
 * the person's session (with the answer, in the same transaction); everything said afterwards is
 * a durable reply keyed by the inbound activity, so a crash or a redelivery neither loses nor
 * repeats anything.
 */
export class SurveyService implements SurveyHook {
  constructor(private readonly deps: SurveyServiceDeps) {}

  /** SurveyHook: a survey row is being sent to one person. */
  async offer(start: SurveyStart): Promise<SurveyOffered> {
    const conv = await this.deps.store.conversations.get(start.conversationId);
    if (conv && conv.kind !== "personal")
      return {
        refused: {
          code: "HERALD_E_SURVEY_NOT_PERSONAL",
          message: `A survey is asked in 1:1 chats; ${start.conversationId} is a ${conv.kind} conversation.`,
        },
      };
    // Keyed by the Teams id when Herald knows it; a chat just created for an Entra object id is
    // not stored yet, so the person is keyed by that id (onText looks both up).
    const userId = conv?.user?.id ?? start.user?.id ?? start.user?.aadObjectId?.toLowerCase();
    if (!userId)
      return { refused: { code: "HERALD_E_SURVEY_NO_USER", message: "The person of this chat is unknown; the survey cannot be kept." } };
    const whenBusy = start.survey.whenBusy ?? "wait";
    for (let i = 0; i < maxConflicts; i++) {
      const session = (await this.deps.store.surveys.get(start.tenantId, userId)) ?? {
        tenantId: start.tenantId,
        userId,
        conversationId: start.conversationId,
        serviceUrl: start.serviceUrl,
        userName: conv?.user?.name ?? start.user?.name,
        state: emptyState(),
        version: 0,
      };
      const r = offer(session.state, start.notificationId, whenBusy);
      const ask = (): { ask: MessageActivity } => ({
        ask: this.activity(questionMessage(start.survey, 0, startWords(start.survey, r.interrupted !== undefined))),
      });
      if (r.action === "again-ask") return ask();
      if (r.action === "again-quiet") return { queued: true };
      const saved = await this.deps.store.surveys.save({
        ...session,
        conversationId: start.conversationId,
        serviceUrl: start.serviceUrl,
        state: r.state,
        expiresAt: r.action === "ask" ? this.expiry() : session.expiresAt,
      });
      if (saved === "conflict") continue;
      this.deps.logger.info(
        { notificationId: start.notificationId, tenantId: start.tenantId, action: r.action, interrupted: r.interrupted?.notificationId },
        "survey offered",
      );
      return r.action === "ask" ? ask() : { queued: true };
    }
    throw new Error("the survey session kept changing under this write; trying later");
  }

  /**
   * A text typed in a 1:1 chat. True when a survey took it (an answer, `cancel`, a text that is
   * no choice); false when the person has no running survey (the handler's commands take it).
   */
  async onText(input: SurveyText): Promise<boolean> {
    for (let i = 0; i < maxConflicts; i++) {
      const session = await this.sessionOf(input);
      if (!session) return false;
      const active = session.state.active;
      const key = `survey:${input.conversationId}:${input.activityId ?? randomUUID()}`;
      if (input.activityId && session.state.seen.includes(input.activityId)) {
        // Applied before (a redelivery), also when it ended the person's last survey (then it is
        // no command): make sure its reply exists; the same key sends nothing twice.
        const said = session.state.said;
        const survey = active && (await this.surveyOf(active.notificationId));
        if (said?.key === key) await this.say(session, key, said.message as Message);
        else if (active && survey) await this.say(session, key, questionMessage(survey, active.index, []));
        else if (!active) await this.say(session, key, wordsMessage(["Your answer is recorded."]));
        return true;
      }
      if (!active) return false;
      const now = this.deps.clock.now();
      if (session.expiresAt !== undefined && Date.parse(session.expiresAt) <= now) {
        if (await this.finish(session, "expired", key, input.activityId)) return true;
        continue;
      }
      if (isCancel(input.text)) {
        if (await this.finish(session, "canceled", key, input.activityId)) return true;
        continue;
      }
      const survey = await this.surveyOf(active.notificationId);
      const question = survey?.questions[active.index];
      if (!survey || !question) {
        // Its notification is gone: end it quietly and go on with the next.
        if (await this.finish(session, "expired", key, input.activityId)) return true;
        continue;
      }
      const value = matchAnswer(input.text, question.choices);
      if (!value) {
        await this.say(session, key, questionMessage(survey, active.index, pickWords()));
        return true;
      }
      const moved = await this.skipGone(session, advance(see(session.state, input.activityId), survey.questions.length));
      const answer: SurveyAnswer = {
        notificationId: active.notificationId,
        questionId: question.id,
        tenantId: session.tenantId,
        userId: session.userId,
        userName: session.userName ?? input.userName,
        value,
        at: new Date(now).toISOString(),
      };
      const message =
        moved.next.kind === "ask"
          ? questionMessage(survey, moved.next.run.index, [])
          : await this.afterEnd(survey, "completed", moved.next);
      if (await this.commit(session, moved.state, key, message, answer)) return true;
    }
    throw new Error("the survey session kept changing under this answer; Teams will deliver it again");
  }

  /** End every survey whose question waited longer than HERALD_SURVEY_TIMEOUT; returns how many ended. */
  async sweep(limit = 500): Promise<number> {
    const now = this.deps.clock.now();
    await this.resay(now, limit);
    const due = await this.deps.store.surveys.expired(new Date(now).toISOString(), limit);
    let ended = 0;
    for (const { tenantId, userId } of due) {
      try {
        for (let i = 0; i < maxConflicts; i++) {
          const session = await this.deps.store.surveys.get(tenantId, userId);
          const active = session?.state.active;
          if (!session || !active || session.expiresAt === undefined || Date.parse(session.expiresAt) > now) break;
          const key = `survey:expired:${session.conversationId}:${active.notificationId}:${active.index}`;
          if (await this.finish(session, "expired", key, undefined)) {
            ended++;
            break;
          }
        }
      } catch (e) {
        this.deps.logger.warn({ tenantId, err: (e as Error).message }, "could not expire a survey; the next sweep tries again");
      }
    }
    return ended;
  }

  /** End the active survey for `reason`, save, and say so with what comes next. False on a write conflict. */
  private async finish(session: SurveySession, reason: EndReason, key: string, activityId: string | undefined): Promise<boolean> {
    const active = session.state.active;
    const moved = await this.skipGone(session, end(see(session.state, activityId)));
    const survey = active ? await this.surveyOf(active.notificationId) : undefined;
    if (!(await this.commit(session, moved.state, key, await this.afterEnd(survey, reason, moved.next)))) return false;
    this.deps.logger.info({ notificationId: active?.notificationId, tenantId: session.tenantId, reason }, "survey ended");
    return true;
  }

  /**
   * Save `state` with the reply it decided (`said`, and `answer` in the same transaction), store
   * the reply, then forget it. A process that dies between the save and the reply leaves `said`
   * in the store for the sweep (`resay`). False on a write conflict (nothing was saved).
   */
  private async commit(
    session: SurveySession,
    state: SessionState,
    key: string,
    message: Message,
    answer?: SurveyAnswer,
  ): Promise<boolean> {
    const stored = this.next(session, { ...state, said: { key, message } });
    if ((await this.deps.store.surveys.save(stored, answer)) === "conflict") return false;
    await this.say(session, key, message);
    await this.forget({ ...stored, version: stored.version + 1 });
    return true;
  }

  /**
   * Remove `said` from a session as stored now (`current.version` is the stored version). Best
   * effort: a conflict leaves it for the sweep, whose re-say is idempotent.
   */
  private async forget(current: SurveySession): Promise<void> {
    await this.deps.store.surveys.save({ ...current, state: { ...current.state, said: undefined } }).catch(() => "conflict");
  }

  /** Store the replies that processes which died after saving a session did not store; returns how many sessions. */
  private async resay(now: number, limit: number): Promise<number> {
    // Older than a few seconds: a reply still on its way in a live process is left to it.
    const due = await this.deps.store.surveys.unsaid(new Date(now - 5_000).toISOString(), limit);
    let n = 0;
    for (const { tenantId, userId } of due) {
      try {
        const session = await this.deps.store.surveys.get(tenantId, userId);
        const said = session?.state.said;
        if (!session || !said) continue;
        await this.say(session, said.key, said.message as Message);
        await this.forget(session);
        n++;
      } catch (e) {
        this.deps.logger.warn({ tenantId, err: (e as Error).message }, "could not store a survey reply; the next sweep tries again");
      }
    }
    return n;
  }

  /** The session with `state`, its expiry restarted when a survey is active. */
  private next(session: SurveySession, state: SessionState): SurveySession {
    return { ...session, state, expiresAt: state.active ? this.expiry() : undefined };
  }

  /** What is said when a survey ends: its closing words, then the next survey's question, if any. */
  private async afterEnd(survey: Survey | undefined, reason: EndReason, next: Next): Promise<Message> {
    const lead = endWords(survey, reason);
    if (next.kind === "none") return wordsMessage(lead);
    const other = await this.surveyOf(next.run.notificationId);
    if (!other) return wordsMessage(lead);
    return next.kind === "start"
      ? questionMessage(other, 0, [...lead, ...startWords(other, false)])
      : questionMessage(other, next.run.index, [...lead, ...resumeWords()]);
  }

  private async sessionOf(input: SurveyText): Promise<SurveySession | undefined> {
    const byId = await this.deps.store.surveys.get(input.tenantId, input.userId);
    if (byId || !input.aadObjectId) return byId;
    // A survey sent to an Entra object id before Herald knew the person's Teams id.
    return this.deps.store.surveys.get(input.tenantId, input.aadObjectId.toLowerCase());
  }

  /**
   * The survey of a notification, read from the store every time (not remembered): a survey
   * cannot be edited, but it can be recalled (status canceled) by any process, and a recalled
   * survey asks nothing more and stores no answer.
   */
  private async surveyOf(notificationId: string): Promise<Survey | undefined> {
    const n = await this.deps.store.deliveries.getNotification(notificationId);
    return n && n.status !== "canceled" ? (n.message as Message).survey : undefined;
  }

  /**
   * A transition's outcome without the surveys recalled meanwhile, and without any survey when the
   * person opted out meanwhile (the bot's replies pass opt-out; a survey must not): each one that
   * would start or resume ends unasked.
   */
  private async skipGone<N extends Next | { kind: "ask"; run: SurveyRun }>(
    session: SurveySession,
    moved: { state: SessionState; next: N },
  ): Promise<{ state: SessionState; next: N | Next }> {
    let r: { state: SessionState; next: N | Next } = moved;
    if (r.next.kind !== "start" && r.next.kind !== "resume") return r;
    const optedOut = (await this.deps.store.preferences.get(session.tenantId, session.userId))?.optedOut === true;
    while ((r.next.kind === "start" || r.next.kind === "resume") && (optedOut || !(await this.surveyOf(r.next.run.notificationId)))) {
      const e = end(r.state);
      r = { state: e.state, next: e.next };
    }
    return r;
  }

  private async say(session: SurveySession, key: string, message: Message): Promise<void> {
    await this.deps.reply({
      key,
      tenantId: session.tenantId,
      conversationId: session.conversationId,
      serviceUrl: session.serviceUrl,
      message,
    });
  }

  private activity(message: Message): MessageActivity {
    return renderActivity(prepareMessage(literal(message)), {});
  }

  private expiry(): string {
    return new Date(this.deps.clock.now() + this.deps.timeoutMs).toISOString();
  }
}

export type { SurveyRun };
