import type { Page } from "./ports.js";

/**
 * The store port of answers to notifications (issue 10): poll votes and acknowledgements, reactions
 * and read receipts, each recorded against the delivery that carried the message.
 */

/** The delivery an inbound activity refers to (by conversation and the bot's activity id). */
export interface DeliveryRef {
  notificationId: string;
  seq: number;
  /** `conversation`, `user`, `channel` or `team` (the row's RecipientKind). */
  kind: string;
  tenantId: string;
  conversationId: string;
  serviceUrl?: string | undefined;
  activityId: string;
  /** The person a 1:1 row went to (Teams id and Entra object id), when known. */
  userId?: string | undefined;
  userAadObjectId?: string | undefined;
  /** The conversation is a 1:1 chat (only its user may answer), not a channel or group chat. */
  personal: boolean;
}

/** Running totals: how many people answered, and how many chose each option (polls). */
export interface ResponseTotals {
  respondents: number;
  /** Index = option; empty for an acknowledgement. */
  options: number[];
}

/** One answer to record. When `anonymous`, `responses` keeps no `userId`, no delivery, and only the hour (so does `response_voters`). */
export interface AnswerInput {
  notificationId: string;
  deliverySeq: number;
  tenantId: string;
  userId: string;
  userName?: string | undefined;
  kind: "poll" | "ack";
  /** Option indexes (poll), ignored for an ack. */
  options: readonly number[];
  anonymous: boolean;
  /** Number of options of the poll (the totals' length). */
  optionCount: number;
  at: string;
}

export type AnswerOutcome = { stored: true; totals: ResponseTotals } | { stored: false; reason: "duplicate"; totals: ResponseTotals };

/** One stored answer, as listed (`userId`/`userName` absent for anonymous polls). */
export interface ResponseRecord {
  seq: number;
  kind: string;
  deliverySeq?: number | undefined;
  userId?: string | undefined;
  userName?: string | undefined;
  /** A survey answer's question id (absent for polls and acknowledgements). */
  questionId?: string | undefined;
  /** Poll: the chosen option indexes; ack: true; survey: `{text, choice?}`. */
  value: unknown;
  createdAt: string;
}

/** A channel card that shows fewer answers than are stored: its PUT is still owed. */
export interface StaleCard {
  ref: DeliveryRef;
  shown: number;
  respondents: number;
}

export interface ResponseStore {
  /** The sent delivery whose message is `activityId` in `conversationId`. */
  findDelivery(conversationId: string, activityId: string): Promise<DeliveryRef | undefined>;
  /**
   * In one transaction: claim (notification, user) in `response_voters`, store the answer, move the
   * running totals. A second answer by the same person stores nothing (`duplicate`).
   */
  answer(input: AnswerInput): Promise<AnswerOutcome>;
  /**
   * `answer` for many answers in ONE transaction (a handful of statements whatever their number):
   * the outcomes in the same order. The same person twice in the list: the first counts.
   */
  answerMany(inputs: readonly AnswerInput[]): Promise<AnswerOutcome[]>;
  /** The running totals (an index read of at most 21 rows). */
  totals(notificationId: string, optionCount: number): Promise<ResponseTotals>;
  /** What `userId` answered: option indexes, `true` for an ack, `"anonymous"` when answered anonymously; undefined when not. */
  answerOf(notificationId: string, userId: string): Promise<number[] | true | "anonymous" | undefined>;
  /** Up to `limit` people who answered (Teams ids, earliest first): a channel card's `refresh.userIds`. */
  voters(notificationId: string, limit: number): Promise<string[]>;
  /** Answers in the order they came, keyset-paged. */
  list(notificationId: string, page: { cursor?: string | undefined; limit: number }): Promise<Page<ResponseRecord>>;
  /** Reactions currently on the notification's messages, per type. */
  reactionCounts(notificationId: string): Promise<Record<string, number>>;
  /** Add or remove a reaction of `userId` on a delivery. */
  react(ref: DeliveryRef, userId: string, types: readonly string[], added: boolean, at: string): Promise<void>;
  /**
   * The user read their 1:1 chat up to `activityId`: that delivery and the earlier ones of the chat
   * get `read_at` (once), and each notification's `read_count` moves. Returns the rows marked.
   */
  markRead(conversationId: string, activityId: string, at: string): Promise<number>;
  /** How many deliveries of the notification were read. */
  readCount(notificationId: string): Promise<number>;
  /** `read_at` of the given deliveries (only those read). */
  readTimes(notificationId: string, seqs: readonly number[]): Promise<Map<number, string>>;
  /** The shared card of a channel delivery now shows `total` answers. */
  cardShown(notificationId: string, seq: number, total: number): Promise<void>;
  /** Channel cards that show fewer answers than are stored (after a restart: updates still owed). */
  staleCards(limit: number): Promise<StaleCard[]>;
}
