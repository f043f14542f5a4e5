import type { SessionState } from "./machine.js";

/** One person's surveys as stored (table `survey_sessions`, migration 011), keyed by tenant and Teams user id. */
export interface SurveySession {
  tenantId: string;
  userId: string;
  /** The person's 1:1 chat with the bot, where the questions go. */
  conversationId: string;
  serviceUrl: string;
  userName?: string | undefined;
  state: SessionState;
  /** When the active question expires (ISO); undefined when no survey is active. */
  expiresAt?: string | undefined;
  /** Optimistic concurrency: every save adds one; 0 = not stored yet. */
  version: number;
}

/** A survey answer, stored in `responses` (kind `survey`) with its `response_voters` row. */
export interface SurveyAnswer {
  notificationId: string;
  questionId: string;
  tenantId: string;
  userId: string;
  userName?: string | undefined;
  value: { text: string; choice?: string | undefined };
  at: string;
}

/** Why a save did not happen: another writer saved the session first (re-read and apply again). */
export type SaveResult = "saved" | "conflict";

/** Running surveys, durable (src/surveys). */
export interface SurveyStore {
  get(tenantId: string, userId: string): Promise<SurveySession | undefined>;
  /**
   * Write `session` if the stored version is still `session.version` (absent counts as 0), as
   * version + 1, in one transaction with `answer` when given. The answer is stored at most once
   * per (notification, question, user): a second one is not stored, and the session is still saved.
   */
  save(session: SurveySession, answer?: SurveyAnswer): Promise<SaveResult>;
  /** The survey answers stored for a notification, in the order they were given. */
  answers(notificationId: string): Promise<SurveyAnswer[]>;
  /** Sessions last written at `before` (ISO) or earlier that still hold a reply not known to be stored (`state.said`). */
  unsaid(before: string, limit: number): Promise<{ tenantId: string; userId: string }[]>;
  /** Sessions whose active question expired at `now` (ISO) or before, oldest first. */
  expired(now: string, limit: number): Promise<{ tenantId: string; userId: string }[]>;
}
