import { Writable } from 'node:stream';
import pino from 'pino';
import type { Censor, Logger } from '@rosterbridge/core';

/**
 * The host logger: pino, JSON lines, each line passed whole through the censor (any 8-character
 * piece of a secret the host knows, in whatever field or message it sneaked into, in any of its
 * encodings) before it is written, and well-known secret keys redacted by pino.
 */
export function createLogger(options: { level: string; censor: Censor; destination?: NodeJS.WritableStream }): Logger & pino.Logger {
  const out = options.destination ?? process.stdout;
  const scrubbing = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.write(options.censor.scrub(chunk.toString('utf8')));
      callback();
    },
  });
  return pino(
    {
      level: options.level,
      base: { service: 'rosterbridge' },
      redact: {
        paths: [
          'password',
          'secret',
          'token',
          'authorization',
          '*.password',
          '*.secret',
          '*.token',
          '*.authorization',
          'req.headers.authorization',
          'settings',
        ],
        censor: '[REDACTED]',
      },
    },
    scrubbing,
  );
}
