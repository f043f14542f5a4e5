/**
 * Errors of the message pipeline. `MessageError` is found up front (the API answers 400/413 and
 * nothing is stored); `RenderError` happens for one recipient while sending (the engine records
 * that delivery as `failed` with the code and goes on with the others).
 */

export type MessageErrorCode =
  /** The message does not match the schema (unknown field, wrong type, no text nor card…). */
  | "HERALD_E_INVALID_MESSAGE"
  /** A `${...}` expression cannot be parsed, names an unknown function, or refers to nothing. */
  | "HERALD_E_TEMPLATE"
  /** The activity would exceed what Teams accepts (413 MessageSizeTooBig). */
  | "HERALD_E_MESSAGE_TOO_LARGE";

/** A message refused before anything is sent. `field` is the dotted path (`message.card.body.0.text`). */
export class MessageError extends Error {
  override readonly name = "MessageError";
  constructor(
    readonly code: MessageErrorCode,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Rendering for one recipient failed; the delivery is `failed` with `code`, the broadcast goes on. */
export class RenderError extends Error {
  override readonly name = "RenderError";
  constructor(
    readonly code: Exclude<MessageErrorCode, "HERALD_E_INVALID_MESSAGE">,
    readonly field: string,
    message: string,
    /** Size of the rendered activity, for HERALD_E_MESSAGE_TOO_LARGE. */
    readonly bytes?: number,
  ) {
    super(message);
  }
}

/** `31.2 KB` (1 KB = 1024 bytes, as Teams' "28 KB"). */
export const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
