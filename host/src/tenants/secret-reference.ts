import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RosterbridgeError } from '@rosterbridge/core';

/** A secret written in config as a reference: `{"env": "NAME"}` or `{"file": "path"}`. */
export type SecretReference = { env: string } | { file: string };

/** True when a config value is a secret reference. */
export function isSecretReference(value: unknown): value is SecretReference {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && ((keys[0] === 'env' && typeof (value as any).env === 'string') || (keys[0] === 'file' && typeof (value as any).file === 'string'));
}

/** How a secret reference is shown anywhere (API, logs, errors): where it comes from, never the value. */
export function redactReference(ref: SecretReference): string {
  return 'env' in ref ? `[secret from env ${ref.env}]` : `[secret from file ${path.basename(ref.file)}]`;
}

/**
 * Remembers every secret value resolved in this process so that log lines, API bodies and error
 * messages can be scrubbed of them, whatever path they took.
 */
export class SecretCensor {
  private readonly values = new Set<string>();

  /** Adds a value to scrub (values shorter than 4 characters would scrub ordinary text; refused). */
  remember(value: string): void {
    if (value.length >= 4) this.values.add(value);
  }

  /** Replaces every known secret in `text` with `[REDACTED]`. */
  scrub(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join('[REDACTED]');
    return out;
  }

  get size(): number {
    return this.values.size;
  }
}

/**
 * Resolves secret references at use. Relative file paths are taken from `baseDir` (the tenants dir).
 * Errors name the reference and the config key, never a value.
 */
export class SecretResolver {
  constructor(
    private readonly censor: SecretCensor,
    private readonly baseDir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async resolve(ref: SecretReference, where: string): Promise<string> {
    let value: string | undefined;
    if ('env' in ref) {
      value = this.env[ref.env];
      if (value === undefined || value === '')
        throw new RosterbridgeError('SECRET_UNRESOLVED', `${where}: environment variable ${ref.env} is not set`, { key: where, env: ref.env });
    } else {
      const file = path.resolve(this.baseDir, ref.file);
      try {
        value = (await fs.readFile(file, 'utf8')).replace(/\r?\n$/, '');
      } catch (err) {
        throw new RosterbridgeError('SECRET_UNRESOLVED', `${where}: secret file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { key: where, file });
      }
      if (value === '') throw new RosterbridgeError('SECRET_UNRESOLVED', `${where}: secret file ${file} is empty`, { key: where, file });
    }
    this.censor.remember(value);
    return value;
  }

  /** Resolves every reference inside a settings object (deeply), returning a copy. */
  async resolveDeep(value: unknown, where: string): Promise<unknown> {
    if (isSecretReference(value)) return this.resolve(value, where);
    if (Array.isArray(value)) return Promise.all(value.map((v, i) => this.resolveDeep(v, `${where}[${i}]`)));
    if (typeof value === 'object' && value !== null) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = await this.resolveDeep(v, `${where}.${k}`);
      return out;
    }
    return value;
  }
}

/** A deep copy with every secret reference replaced by its redacted form. */
export function redactDeep(value: unknown): unknown {
  if (isSecretReference(value)) return redactReference(value);
  if (Array.isArray(value)) return value.map(redactDeep);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)]));
  return value;
}
