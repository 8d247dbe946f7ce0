import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '@rosterbridge/core';
import type { SecretCensor } from './tenants/secret-reference';

/**
 * The host logger: pino, JSON lines, with every line scrubbed of any secret value the process has
 * resolved (whatever field or message it sneaked into) and of well-known secret keys.
 */
export function createLogger(options: { level: string; censor: SecretCensor; destination?: NodeJS.WritableStream }): Logger & pino.Logger {
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
        paths: ['password', 'secret', 'token', 'authorization', '*.password', '*.secret', '*.token', '*.authorization', 'req.headers.authorization', 'settings'],
        censor: '[REDACTED]',
      },
    },
    scrubbing,
  );
}
