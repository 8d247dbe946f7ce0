import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RosterbridgeError, SECRET_MIN_LENGTH, SecretCensor } from '@rosterbridge/core';

// The censor lives in core (plugins and adapters use it too); the host's code imports it from here.
export { SecretCensor } from '@rosterbridge/core';

/** A secret written in config as a reference: `{"env": "NAME"}` or `{"file": "path"}`. */
export type SecretReference = { env: string } | { file: string };

/** True when a config value is a secret reference. */
export function isSecretReference(value: unknown): value is SecretReference {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return (
    keys.length === 1 && ((keys[0] === 'env' && typeof (value as any).env === 'string') || (keys[0] === 'file' && typeof (value as any).file === 'string'))
  );
}

/** How a secret reference is shown anywhere (API, logs, errors): where it comes from, never the value. */
export function redactReference(ref: SecretReference): string {
  return 'env' in ref ? `[secret from env ${ref.env}]` : `[secret from file ${path.basename(ref.file)}]`;
}

/** The env var prefix of the host's own configuration: never a tenant's secret. */
export const HOST_ENV_PREFIX = 'RB_';

/**
 * Where tenants' secrets may come from: files inside one folder (symbolic links followed, then
 * checked), and env vars whose names start with an allowed prefix, never the host's own
 * configuration. Anything else a tenant file names would let it send the host's files or
 * settings (the API tokens, the database URL) to a server of its choosing.
 */
export interface SecretPolicy {
  /** The secrets folder; relative `file` references are taken from it. */
  dir: string;
  /** Prefixes an env var name must start with (`ROSTERBRIDGE_SECRET_` by default). */
  envPrefixes: readonly string[];
  /** The host's own configuration env vars, refused whatever the prefixes say. */
  hostEnv: ReadonlySet<string>;
  /** Where env vars are read; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** A reference at its key in a tenant file, or a problem with it. */
export interface SecretProblem {
  key: string;
  message: string;
}

/**
 * Resolves secret references, confined by a {@link SecretPolicy}, and remembers every value it reads
 * in the censor, so that logs, API bodies, streams and stored runs are scrubbed of it. Errors name
 * the key and the reference, never a value.
 */
export class SecretResolver {
  constructor(
    private readonly censor: SecretCensor,
    readonly policy: SecretPolicy,
  ) {}

  /**
   * The value of `ref`, read now. Throws `SECRET_NOT_ALLOWED` for a reference outside the policy,
   * `SECRET_UNRESOLVED` when it names nothing, `SECRET_TOO_SHORT` for a value under 8 characters.
   */
  async resolve(ref: SecretReference, where: string): Promise<string> {
    const read = await this.read(ref);
    if ('value' in read) return read.value;
    const [code, message] =
      'refused' in read
        ? (['SECRET_NOT_ALLOWED', read.refused] as const)
        : 'tooShort' in read
          ? (['SECRET_TOO_SHORT', read.tooShort] as const)
          : (['SECRET_UNRESOLVED', read.missing] as const);
    throw new RosterbridgeError(code, `${where}: ${message}`, { key: where, ...describe(ref) });
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

  /**
   * What is wrong with the references inside `value` (a tenant's settings at `key`): each one
   * outside the policy, and each whose value is shorter than 8 characters. A reference that names
   * nothing yet (an env var not set, a file not there) is not a problem here: it is reported when
   * the secret is used, so that a secret may be provided after the tenant file.
   */
  async problems(value: unknown, key: string): Promise<SecretProblem[]> {
    const problems: SecretProblem[] = [];
    for (const [at, ref] of referencesIn(value, key)) {
      const read = await this.read(ref);
      if ('refused' in read) problems.push({ key: at, message: read.refused });
      if ('tooShort' in read) problems.push({ key: at, message: read.tooShort });
    }
    return problems;
  }

  /** The value of `ref` (remembered by the censor), or why it is refused, missing or too short. */
  private async read(ref: SecretReference): Promise<{ value: string } | { refused: string } | { missing: string } | { tooShort: string }> {
    let value: string;
    if ('env' in ref) {
      const refused = this.envRefusal(ref.env);
      if (refused) return { refused };
      const set = (this.policy.env ?? process.env)[ref.env];
      if (set === undefined || set === '') return { missing: `environment variable ${ref.env} is not set` };
      value = set;
    } else {
      const located = await this.locate(ref.file);
      if ('refused' in located) return located;
      try {
        value = (await fs.readFile(located.file, 'utf8')).replace(/\r?\n$/, '');
      } catch (err) {
        return { missing: `secret file ${ref.file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
      }
      if (value === '') return { missing: `secret file ${ref.file} is empty` };
    }
    if (value.length < SECRET_MIN_LENGTH)
      return {
        tooShort: `the secret from ${'env' in ref ? `env ${ref.env}` : `file ${ref.file}`} has ${value.length} characters; secrets must have at least ${SECRET_MIN_LENGTH}, so that every piece of them can be kept out of logs and messages`,
      };
    if (!this.censor.has(value)) this.censor.remember(value);
    return { value };
  }

  private envRefusal(name: string): string | undefined {
    if (this.policy.hostEnv.has(name) || name.startsWith(HOST_ENV_PREFIX))
      return `environment variable ${name} is the host's own configuration, which no tenant may read; name one that starts with ${this.prefixes()}`;
    if (!this.policy.envPrefixes.some((prefix) => name.startsWith(prefix)))
      return `environment variable ${name} may not hold a tenant secret: its name must start with ${this.prefixes()} (host config secrets.envPrefixes)`;
    return undefined;
  }

  private prefixes(): string {
    return this.policy.envPrefixes.length === 0 ? '(no prefix is allowed: secrets.envPrefixes is empty)' : this.policy.envPrefixes.join(' or ');
  }

  /**
   * The real path of a secret file, if it lies inside the secrets folder once every symbolic link
   * (of the folder and of the file) is followed; a file not there yet is judged by its path.
   */
  private async locate(file: string): Promise<{ file: string } | { refused: string }> {
    const dir = path.resolve(this.policy.dir);
    const given = path.resolve(dir, file);
    const outside = `secret file ${file} is outside the secrets folder ${dir} (host config secrets.dir); put the file in that folder`;
    if (!inside(dir, given)) return { refused: outside };
    const realDir = await fs.realpath(dir).catch(() => dir);
    let real: string;
    try {
      real = await fs.realpath(given);
    } catch {
      return { file: given };
    }
    if (!inside(realDir, real))
      return { refused: `secret file ${file} leads outside the secrets folder ${dir} (host config secrets.dir) through a symbolic link` };
    return { file: real };
  }
}

/** Every secret reference inside `value`, with its key (`source.settings.auth.token`). */
function referencesIn(value: unknown, key: string): [string, SecretReference][] {
  if (isSecretReference(value)) return [[key, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => referencesIn(v, `${key}[${i}]`));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => referencesIn(v, `${key}.${k}`));
  return [];
}

function inside(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== '' && !relative.startsWith(`..${path.sep}`) && relative !== '..' && !path.isAbsolute(relative);
}

function describe(ref: SecretReference): Record<string, string> {
  return 'env' in ref ? { env: ref.env } : { file: ref.file };
}

/** A deep copy with every secret reference replaced by its redacted form. */
export function redactDeep(value: unknown): unknown {
  if (isSecretReference(value)) return redactReference(value);
  if (Array.isArray(value)) return value.map(redactDeep);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)]));
  return value;
}
