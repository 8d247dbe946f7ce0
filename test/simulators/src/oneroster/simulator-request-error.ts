/**
 * A request the simulator refuses, answered with an `imsx_StatusInfo` (or plain text) body: the
 * status, the human description and the OneRoster `imsx_CodeMinor` value.
 */
export class SimulatorRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** e.g. `invalid_filter_field`, `unauthorisedrequest`, `unknownobject`, `forbidden`. */
    readonly codeMinor: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
