import type { MessageActivity } from "../message/activity.js";
import type { Survey } from "../message/survey.js";
import type { RecipientUser, RowError } from "../model.js";

/** A `message.survey` row about to be sent to one person's 1:1 chat. */
export interface SurveyStart {
  notificationId: string;
  seq: number;
  tenantId: string;
  conversationId: string;
  serviceUrl: string;
  user?: RecipientUser | undefined;
  survey: Survey;
}

/**
 * What the survey machinery (src/surveys) decided for the row: `ask` sends this activity as the
 * row's message (the intro and first question); `queued` sends nothing now (the person is in
 * another survey; this one starts later, as a reply) and the row counts as sent; `refused` ends
 * the row failed (not a 1:1 chat).
 */
export type SurveyOffered = { ask: MessageActivity } | { queued: true } | { refused: RowError };

/** The delivery engine's port to surveys: called once per send attempt of a survey row; must be idempotent. */
export interface SurveyHook {
  offer(start: SurveyStart): Promise<SurveyOffered>;
}
