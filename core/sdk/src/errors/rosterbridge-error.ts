/**
 * The catalogue of stable error codes. A code never changes meaning once released; the HTTP status
 * is how the control API answers when the error reaches it.
 */
export const ErrorCodes = {
  CONFIG_INVALID: { status: 500, title: 'Host configuration is invalid' },
  TENANT_CONFIG_INVALID: { status: 422, title: 'Tenant configuration is invalid' },
  TENANT_NOT_FOUND: { status: 404, title: 'Tenant not found' },
  SECRET_UNRESOLVED: { status: 422, title: 'A secret reference could not be resolved' },
  SECRET_NOT_ALLOWED: { status: 422, title: 'A secret reference points outside the secrets folder or the allowed env vars' },
  SECRET_TOO_SHORT: { status: 422, title: 'A secret is shorter than 8 characters' },
  MANIFEST_INVALID: { status: 422, title: 'Plugin manifest is invalid' },
  PLUGIN_NOT_FOUND: { status: 404, title: 'Plugin not found' },
  PLUGIN_ENGINE_INCOMPATIBLE: { status: 422, title: 'Plugin requires another Rosterbridge version' },
  PLUGIN_DEPENDENCY_MISSING: { status: 422, title: 'Plugin dependency is not installed' },
  PLUGIN_DEPENDENCY_FAILED: { status: 424, title: 'Plugin dependency failed' },
  PLUGIN_DEPENDENCY_CYCLE: { status: 422, title: 'Plugin dependencies form a cycle' },
  PLUGIN_LOAD_FAILED: { status: 500, title: 'Plugin code could not be loaded' },
  PLUGIN_ACTIVATION_FAILED: { status: 500, title: 'Plugin activation threw' },
  PLUGIN_ACTIVATION_TIMEOUT: { status: 504, title: 'Plugin activation overran its deadline' },
  PLUGIN_FAILED: { status: 503, title: 'Plugin is in a failed state' },
  PLUGIN_CRASHED: { status: 503, title: 'Plugin code threw outside any call (an uncaught exception or unhandled rejection)' },
  PLUGIN_OUT_OF_MEMORY: { status: 503, title: "Plugin's worker exceeded its memory limit and was terminated" },
  PLUGIN_ISOLATION_UNSUPPORTED: { status: 422, title: 'Plugin asks for something its worker cannot give (a dependency API, a bulk load)' },
  CONTRACT_UNSATISFIED: { status: 422, title: 'No installed source produces a change contract a target consumes' },
  SETTINGS_INVALID: { status: 422, title: 'Plugin settings are invalid' },
  MIGRATION_FAILED: { status: 500, title: 'Database migration failed' },
  AUTH_REQUIRED: { status: 401, title: 'Authentication required' },
  AUTH_FORBIDDEN: { status: 403, title: 'Not allowed for this token' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  FORBIDDEN: { status: 403, title: 'This path may not be served' },
  REQUEST_TIMEOUT: { status: 408, title: 'The request was not received in time' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is larger than this route takes' },
  URL_TOO_LONG: { status: 414, title: 'The URL, or one of its path segments, is too long' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'The request body is not JSON' },
  HEADERS_TOO_LARGE: { status: 431, title: 'The request headers are too large' },
  DEADLINE_EXCEEDED: { status: 504, title: 'Operation overran its deadline' },
  CANCELLED: { status: 499, title: 'Operation was cancelled' },
  CONFLICT: { status: 409, title: 'Conflicts with the current state' },
  TENANT_PAUSED: { status: 409, title: 'Tenant is paused' },
  TENANT_BUSY: { status: 409, title: 'Another operation on the tenant is under way (a run, a reset, a pause)' },
  COMMAND_UNKNOWN: { status: 404, title: 'No installed plugin contributes this command' },
  COMMAND_NOT_ENABLED: { status: 409, title: "The command's plugin is not enabled for this tenant" },
  COMMAND_ARGUMENTS_INVALID: { status: 400, title: "The command's arguments do not fit its schema (the argument is named)" },
  COMMAND_NOT_REGISTERED: { status: 503, title: 'The plugin is active but registered no handler for this command' },
  COMMAND_REFUSED: { status: 422, title: "The product refused the command: its reason in the message, the product's code in details" },
  COMMAND_FAILED: { status: 502, title: 'The plugin failed while running the command' },
  TARGET_FAILED: { status: 502, title: 'A target failed to apply changes' },
  SYNC_OPTIONS_CONFLICT: { status: 422, title: 'The sync options asked for cannot go together (a preview with a dry run, schools without a preview)' },
  SCHOOLS_UNKNOWN: { status: 422, title: "Schools named for a scoped preview are not orgs of the tenant's roster (they are named)" },
  TARGET_BEHIND_LEDGER: { status: 409, title: "A target's cursor is behind what the ledger still holds: reset the target to back-fill it" },
  INTERNAL: { status: 500, title: 'Internal error' },
  SOURCE_INCOMPLETE: { status: 502, title: 'A source read ended before the end of its data; nothing may be deleted on it' },
  SOURCE_MODE_MISMATCH: { status: 422, title: 'The source cannot serve this sync mode (e.g. a full sync over a delta package)' },
  CSV_PACKAGE_UNREADABLE: { status: 422, title: 'OneRoster CSV package cannot be read' },
  CSV_PACKAGE_TOO_LARGE: { status: 422, title: 'A OneRoster CSV package, or a file in it, holds more bytes than its cap' },
  CSV_MANIFEST_MISSING: { status: 422, title: 'OneRoster CSV package has no manifest.csv' },
  CSV_MANIFEST_INVALID: { status: 422, title: 'OneRoster CSV manifest is invalid' },
  CSV_UNSUPPORTED_VERSION: { status: 422, title: 'OneRoster CSV package is not OneRoster 1.1' },
  CSV_FILE_MISSING: { status: 422, title: 'A file the manifest lists is not in the package' },
  CSV_BAD_HEADER: { status: 422, title: 'A OneRoster CSV file has the wrong header' },
  SOURCE_UNREACHABLE: { status: 502, title: 'The roster source cannot be reached' },
  SOURCE_TIMEOUT: { status: 504, title: 'The roster source did not answer in time' },
  SOURCE_BAD_CREDENTIALS: { status: 502, title: 'The roster source refused the credentials' },
  SOURCE_FORBIDDEN: { status: 502, title: 'The credentials may not read this roster collection' },
  SOURCE_NOT_FOUND: { status: 502, title: 'No OneRoster service or record at this address' },
  SOURCE_INVALID: { status: 502, title: 'The source answered, but not as a roster source of its kind (or its package cannot be read as one)' },
  SOURCE_REQUEST_REJECTED: { status: 502, title: 'The roster source rejected the request' },
  SOURCE_RATE_LIMITED: { status: 503, title: 'The roster source kept answering 429 Too Many Requests' },
  SOURCE_UNAVAILABLE: { status: 503, title: 'The roster source kept failing with server errors' },
  SOURCE_BAD_RESPONSE: { status: 502, title: 'The roster source answered with something that is not a OneRoster response' },
  SOURCE_TRUNCATED: { status: 502, title: 'A roster source response was cut short' },
  SOURCE_TOO_MANY_REQUESTS: { status: 502, title: 'A read needed more requests than its cap allows' },
} as const satisfies Record<string, { status: number; title: string }>;

/**
 * Codes of failures that may pass by themselves: the source was down, slow, rate-limiting, or its
 * package not (fully) uploaded yet; another run, or a reset or pause, was under way. A scheduled
 * run that fails with one is retried with backoff; any other failure waits for a person.
 */
export const TRANSIENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'SOURCE_UNREACHABLE',
  'SOURCE_TIMEOUT',
  'SOURCE_RATE_LIMITED',
  'SOURCE_UNAVAILABLE',
  'SOURCE_TRUNCATED',
  'SOURCE_INCOMPLETE',
  'CSV_PACKAGE_UNREADABLE',
  'CSV_MANIFEST_MISSING',
  'DEADLINE_EXCEEDED',
  'CONFLICT',
  'TENANT_BUSY',
]);

/** A stable error code from {@link ErrorCodes}. */
export type ErrorCode = keyof typeof ErrorCodes;

/** Extra structured facts an error carries: which key, file, plugin… Never secrets. */
export type ErrorDetails = Record<string, unknown>;

/**
 * The one error type of Rosterbridge: a stable code, a message a district admin or operator can act
 * on, structured details, and the cause.
 *
 * ```ts
 * throw new RosterbridgeError('TENANT_CONFIG_INVALID', 'tenants/lincoln.json: targets.kybergate.schedule must be one of 6h, 12h, 24h, manual', { key: 'targets.kybergate.schedule' });
 * ```
 */
export class RosterbridgeError extends Error {
  override readonly name = 'RosterbridgeError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The HTTP status the control API answers with for this error. */
  get status(): number {
    return ErrorCodes[this.code].status;
  }

  /** A JSON body fit for an API response or a run record. */
  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True when `err` is a {@link RosterbridgeError}, optionally with the given code. */
export function isRosterbridgeError(err: unknown, code?: ErrorCode): err is RosterbridgeError {
  return err instanceof RosterbridgeError && (code === undefined || err.code === code);
}

/** A readable one-line message for any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
