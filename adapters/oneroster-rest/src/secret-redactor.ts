import { RosterbridgeError, type ErrorCode, type ErrorDetails } from '@rosterbridge/core';
import { percentEncode } from './percent-encode';

const REDACTED = '[redacted]';

/**
 * Keeps secrets (consumer secrets, bearer and access tokens, client secrets) out of every error and
 * log line the client makes. Servers sometimes echo a request back in an error body; whatever text
 * reaches a message passes through {@link redact}, which also catches the secret percent-encoded or
 * inside a base64 `Basic` credential.
 *
 * ```ts
 * const redactor = new SecretRedactor(() => [settings.consumerSecret]);
 * throw redactor.error('SOURCE_BAD_CREDENTIALS', `401: ${body}`);
 * ```
 */
export class SecretRedactor {
  constructor(private readonly secrets: () => readonly string[]) {}

  /** `text` with every known secret (in any of its encoded forms) replaced by `[redacted]`. */
  redact(text: string): string {
    let out = text;
    for (const form of this.forms()) out = out.split(form).join(REDACTED);
    return out;
  }

  /**
   * A {@link RosterbridgeError} with a redacted message and details. The cause is replaced by a plain
   * `Error` carrying only the redacted message and code of the original, so that nothing reachable
   * from the error holds a secret.
   */
  error(code: ErrorCode, message: string, details: ErrorDetails = {}, cause?: unknown): RosterbridgeError {
    const safeDetails = JSON.parse(this.redact(JSON.stringify(details))) as ErrorDetails;
    const options = cause === undefined ? undefined : { cause: this.safeCause(cause) };
    return new RosterbridgeError(code, this.redact(message), safeDetails, options);
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

  private forms(): string[] {
    const forms = new Set<string>();
    for (const secret of this.secrets()) {
      if (!secret) continue;
      forms.add(secret);
      forms.add(percentEncode(secret));
      forms.add(encodeURIComponent(secret));
      forms.add(JSON.stringify(secret).slice(1, -1));
    }
    // Longest first, so that a secret containing another is replaced whole.
    return [...forms].filter((form) => form !== '').sort((a, b) => b.length - a.length);
  }
}
