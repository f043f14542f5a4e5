/**
 * A refusal of a control-API request, with a stable code and an HTTP status; the message says
 * what to do instead.
 */
export class EmulatorError extends Error {
  constructor(
    readonly status: number,
    readonly code: `HERALD_E_EMULATOR_${string}`,
    message: string,
  ) {
    super(message);
    this.name = "EmulatorError";
  }
}
