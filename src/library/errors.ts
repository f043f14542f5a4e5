/**
 * What the library throws where the HTTP API would answer an error: the same `code` and
 * message as the `{error: {code, message}}` body, and the status that answer would carry.
 */
export class HeraldError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The HTTP status `herald serve` answers for the same request (400, 401, 403, ...). */
    readonly status: number,
  ) {
    super(message);
    this.name = "HeraldError";
  }
}
