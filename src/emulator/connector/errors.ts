import type { ServerResponse } from "node:http";
import { sendJsonText } from "../http/io.js";

/**
 * Error answers of the Bot Connector as Teams writes them (codes and messages from Microsoft's
 * "status codes from bot conversational APIs" table). Bodies are serialised once: the hot path
 * only writes strings.
 */
export interface TeamsError {
  status: number;
  code: string;
  body: string;
}

function teamsError(status: number, code: string, message: string): TeamsError {
  return { status, code, body: JSON.stringify({ error: { code, message } }) };
}

/**
 * A user who blocked the bot: Teams answers with a top-level `errorCode` 209 and the sub-code
 * as JSON text inside `message` (CRLF and two-space indentation included), exactly as in
 * Microsoft's documented example; clients must decode it twice.
 */
const messageWritesBlocked: TeamsError = {
  status: 403,
  code: "MessageWritesBlocked",
  body: JSON.stringify({
    errorCode: 209,
    message:
      '{\r\n  "subCode": "MessageWritesBlocked",\r\n  "details": "Thread is blocked from message writes.",\r\n  "errorCode": null,\r\n  "errorSubCode": null\r\n}',
  }),
};

export const errors = {
  messageWritesBlocked,
  conversationBlockedByUser: teamsError(403, "ConversationBlockedByUser", "User blocked the conversation with the bot."),
  botDisabledByAdmin: teamsError(403, "BotDisabledByAdmin", "The tenant admin disabled this bot"),
  botNotInConversationRoster: teamsError(403, "BotNotInConversationRoster", "The bot is not part of the conversation roster."),
  forbiddenOperation: teamsError(403, "ForbiddenOperationException", "Bot is not installed in user's personal scope"),
  conversationNotFound: teamsError(404, "ConversationNotFound", "Conversation not found."),
  activityNotFound: teamsError(404, "ActivityNotFoundInConversation", "Conversation not found."),
  memberNotFound: teamsError(404, "MemberNotFoundInConversation", "The member was not found in the conversation."),
  teamNotFound: teamsError(404, "NotFound", "Team not found."),
  operationNotFound: teamsError(404, "NotFound", "Operation not found."),
  preconditionFailed: teamsError(412, "PreconditionFailed", "Precondition failed, please try again."),
  messageSizeTooBig: teamsError(413, "MessageSizeTooBig", "Message size too large."),
  throttled: teamsError(429, "Throttled", "Too many requests. Also returns when to retry after."),
  internal: teamsError(500, "ServiceError", "Internal server error."),
  badGateway: teamsError(502, "ServiceError", "Service dependency issue."),
  unavailable: teamsError(503, "ServiceUnavailable", "Service is unavailable."),
  gatewayTimeout: teamsError(504, "GatewayTimeout", "Gateway Timeout."),
  /** What the Connector answers to a call without a valid bearer token. */
  unauthorized: { status: 401, code: "Unauthorized", body: JSON.stringify({ message: "Authorization has been denied for this request." }) },
} as const satisfies Record<string, TeamsError>;

export function badArgument(message: string): TeamsError {
  return teamsError(400, "BadArgument", message);
}

export function badSyntax(message: string): TeamsError {
  return teamsError(400, "BadSyntax", message);
}

export function sendError(res: ServerResponse, error: TeamsError, extra?: Record<string, string>): void {
  sendJsonText(res, error.status, error.body, extra);
}
