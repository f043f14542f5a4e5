/** Messages: the API's shape, up-front checks, templating and the Bot Framework activity per recipient. */
export {
  ADAPTIVE_CARD_CONTENT_TYPE,
  ADDRESSING_RESERVE_BYTES,
  DEFAULT_MAX_CONTENT_BYTES,
  jsonBytes,
  type MessageActivity,
  TEAMS_MAX_ACTIVITY_BYTES,
} from "./activity.js";
export { MessageError, type MessageErrorCode, RenderError } from "./errors.js";
export { PreparedMessage, type PrepareOptions, prepareMessage } from "./prepare.js";
export { type Recipient, recipientFields, sampleRecipient } from "./recipient.js";
export { renderActivities, renderActivity } from "./render.js";
export {
  ACK_VERB,
  type AckSpec,
  type Answerable,
  answerableCard,
  answerableOf,
  CHOICE_INPUT_ID,
  POLL_VERB,
  type PollSpec,
  pollBody,
  RESPONSE_VERB,
  VIEW_VERB,
} from "./responses.js";
export {
  type AdaptiveCard,
  adaptiveCardSchema,
  type Message,
  messageErrorFromZod,
  messageSchema,
  parseMessage,
  type TextFormat,
  textFormats,
} from "./schema.js";
export { maxSurveyChoices, maxSurveyQuestions, type Survey, type SurveyQuestion, surveySchema } from "./survey.js";
