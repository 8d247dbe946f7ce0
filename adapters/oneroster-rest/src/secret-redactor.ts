import { RosterbridgeError, type Censor, type ErrorCode, type ErrorDetails } from '@rosterbridge/core';

/**
 * Keeps secrets (consumer secrets, bearer and access tokens, client secrets and their Basic
 * credential) out of every error and log line the client makes. Servers sometimes echo a request
 * back in an error body; whatever text reaches a message passes through the core censor, which
 * takes out every 8-character piece of a secret in any of its usual encodings. The censor is the
 * host's own when the client is given one (so that the host's logs and API know the client's
 * run-time secrets too), else the client's.
 *
 * ```ts
 * const censor = new SecretCensor();
 * censor.remember(settings.consumerSecret);
 * const redactor = new SecretRedactor(censor);
 * throw redactor.error('SOURCE_BAD_CREDENTIALS', `401: ${body}`);
 * ```
 */
export class SecretRedactor {
  constructor(readonly censor: Censor) {}

  /** `text` with every piece of a known secret (in any of its encoded forms) censored. */
  redact(text: string): string {
    return this.censor.scrub(text);
  }

  /**
   * A {@link RosterbridgeError} with a redacted message and details. The cause is replaced by a plain
   * `Error` carrying only the redacted message and code of the original, so that nothing reachable
   * from the error holds a secret.
   */
  error(code: ErrorCode, message: string, details: ErrorDetails = {}, cause?: unknown): RosterbridgeError {
    const options = cause === undefined ? undefined : { cause: this.safeCause(cause) };
    return new RosterbridgeError(code, this.redact(message), this.censor.scrubDeep(details), options);
  }

  /** A copy of `cause` reduced to a redacted message and its `code`. */
  safeCause(cause: unknown): Error {
    const message = cause instanceof Error ? cause.message : String(cause);
    const safe = new Error(this.redact(message));
    if (cause instanceof Error) safe.name = cause.name;
    const code = (cause as { code?: unknown } | null)?.code;
    if (typeof code === 'string') Object.assign(safe, { code });
    return safe;
  }
}
