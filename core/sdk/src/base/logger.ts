/** Structured log fields. Secrets never go here; the host redacts known secret paths anyway. */
export type LogFields = Record<string, unknown>;

/**
 * The logger every plugin and service sees: pino-compatible, bound to its plugin and tenant through
 * `child`.
 *
 * ```ts
 * context.logger.info({ entity: 'users', count: 500 }, 'read a batch');
 * ```
 */
export interface Logger {
  trace(fields: LogFields | string, message?: string): void;
  debug(fields: LogFields | string, message?: string): void;
  info(fields: LogFields | string, message?: string): void;
  warn(fields: LogFields | string, message?: string): void;
  error(fields: LogFields | string, message?: string): void;
  child(bindings: LogFields): Logger;
}

/** A logger that drops everything (for tests and tools). */
export const nullLogger: Logger = {
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return nullLogger;
  },
};
