import { SECRET_MIN_LENGTH, SecretCensor } from '@rosterbridge/core';

/**
 * The CLI's censor: everything the process writes to stdout and stderr passes through it (tables,
 * progress bars, JSON, error messages, a started host's log lines), so the control API token it
 * was given and any tenant secret it reads (`config check`) cannot be printed, whatever the host
 * answered or a library wrote.
 */
export const cliCensor = new SecretCensor();

/**
 * Routes the process's stdout and stderr through `censor`. Each write is scrubbed whole: the CLI
 * writes whole lines (and progress bars redraw whole lines), so a secret is not split across writes.
 */
export function censorStandardStreams(censor: SecretCensor = cliCensor): void {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (censor.size === 0) return write(chunk, ...rest);
      if (typeof chunk === 'string') return write(censor.scrub(chunk), ...rest);
      if (chunk instanceof Uint8Array) return write(Buffer.from(censor.scrub(Buffer.from(chunk).toString('utf8'))), ...rest);
      return write(chunk, ...rest);
    }) as typeof stream.write;
  }
}

/** Censors the control API token in `RB_TOKEN` (when long enough to be a token at all). */
export function censorApiToken(env: NodeJS.ProcessEnv = process.env): void {
  const token = env.RB_TOKEN;
  if (token !== undefined && token.length >= SECRET_MIN_LENGTH && !cliCensor.has(token)) cliCensor.remember(token);
}
