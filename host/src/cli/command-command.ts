import { isUtf8 } from 'node:buffer';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { CommandOutcome, CommandView } from '../commands/command-service';
import { formatDuration, formatTable, controlApi } from './runs-command';

/** The largest file `--file` sends: the control API's body limit for a command, less room for JSON escapes. */
export const MAX_COMMAND_FILE_BYTES = 16_000_000;

/**
 * `rosterbridge command <command> <tenant>` runs a plugin's command for a tenant on a running host;
 * `rosterbridge commands <tenant>` lists the tenant's commands.
 */
export function registerCommandCommands(program: Command): void {
  const urlOption = ['--url <url>', 'control API of a running host (or env RB_URL); token from env RB_TOKEN'] as const;
  program
    .command('command')
    .description(
      "run a plugin's command for a tenant on a running host (rosterbridge commands <tenant> lists them); exit 0 done, 2 done with rows rejected, 1 refused or failed",
    )
    .argument('<command>', 'command id, e.g. gradient.startAcademicYear')
    .argument('<tenant>', 'tenant id')
    .option(
      '--arg <key=value>',
      'an argument (repeatable); the value is read as the type the command declares (2027 as an integer, true as a boolean)',
      collectPair('--arg'),
      [],
    )
    .option(
      '--file <[key=]path>',
      "a file whose content is an argument: the command's file argument (the one it declares with contentMediaType), or the key named",
      collectPair('--file', true),
      [],
    )
    .option(...urlOption)
    .option('--json', 'print the answer as JSON')
    .action(async (command: string, tenant: string, opts: { arg: Pair[]; file: Pair[]; url?: string; json?: boolean }) => {
      process.exitCode = await runCommand({ command, tenant, args: opts.arg, files: opts.file, url: opts.url, json: opts.json === true });
    });
  program
    .command('commands')
    .description('list the commands of the plugins a tenant enables, with their arguments, from a running host')
    .argument('<tenant>', 'tenant id')
    .option(...urlOption)
    .option('--json', 'print JSON')
    .action(async (tenant: string, opts: { url?: string; json?: boolean }) => listCommands({ tenant, url: opts.url, json: opts.json === true }));
}

/** A `key=value` of `--arg`, or a `[key=]path` of `--file` (key undefined: the command's file argument). */
interface Pair {
  key?: string;
  value: string;
}

function collectPair(option: string, keyOptional = false): (text: string, previous: Pair[]) => Pair[] {
  return (text, previous) => {
    const at = text.indexOf('=');
    // A path may hold "=" too: only a leading identifier counts as a key.
    const key = at > 0 && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(text.slice(0, at)) ? text.slice(0, at) : undefined;
    if (key === undefined && !keyOptional) throw new InvalidArgumentError(`${option} takes key=value, such as ${option} year=2027`);
    if (key !== undefined && previous.some((p) => p.key === key)) throw new InvalidArgumentError(`the argument "${key}" is given twice`);
    return [...previous, key === undefined ? { value: text } : { key, value: text.slice(at + 1) }];
  };
}

/** `rosterbridge command`: sends the arguments, prints what the command answered; the exit code. */
export async function runCommand(options: { command: string; tenant: string; args: Pair[]; files: Pair[]; url?: string; json: boolean }): Promise<number> {
  const api = controlApi(options.url);
  const tenantPath = `/tenants/${encodeURIComponent(options.tenant)}/commands`;
  // The command's schema says how to read the values; a command the tenant does not list is sent
  // as given and the host says why it refuses it.
  const declared =
    options.args.length > 0 || options.files.length > 0
      ? (await api.request<{ commands: CommandView[] }>('GET', tenantPath)).commands.find((c) => c.id === options.command)
      : undefined;
  const properties = (declared?.arguments.properties ?? {}) as Record<string, { type?: string | string[]; contentMediaType?: string; maxLength?: number }>;
  const body: Record<string, unknown> = {};
  for (const { key, value } of options.args) body[key!] = readValue(value, properties[key!]?.type);
  for (const file of options.files) {
    const key = file.key ?? fileArgument(options.command, declared, properties);
    if (key in body) throw new Error(`the argument "${key}" is given twice (by --arg and --file)`);
    body[key] = readTextFile(file.value, Math.min(properties[key]?.maxLength ?? MAX_COMMAND_FILE_BYTES, MAX_COMMAND_FILE_BYTES));
  }
  const outcome = await api.request<CommandOutcome>('POST', `${tenantPath}/${encodeURIComponent(options.command)}`, body);
  if (options.json) process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
  else process.stdout.write(describeOutcome(outcome));
  return (outcome.result.rejectedCount ?? outcome.result.rejected?.length ?? 0) > 0 ? 2 : 0;
}

/** A `--arg` value as the type the command declares; one that does not read as it is sent as text (the host names the argument). */
function readValue(text: string, type: string | string[] | undefined): unknown {
  const types = Array.isArray(type) ? type : type ? [type] : [];
  if ((types.includes('integer') && /^-?\d{1,15}$/.test(text)) || (types.includes('number') && /^-?\d+(\.\d+)?$/.test(text))) return Number(text);
  if (types.includes('boolean') && (text === 'true' || text === 'false')) return text === 'true';
  if (types.includes('null') && text === 'null') return null;
  if ((types.includes('array') && text.startsWith('[')) || (types.includes('object') && text.startsWith('{'))) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  if (types.includes('array') && !types.includes('string')) return text === '' ? [] : text.split(',');
  return text;
}

/** The argument `--file` fills when no key is named: the one string argument with a `contentMediaType`. */
function fileArgument(command: string, declared: CommandView | undefined, properties: Record<string, { contentMediaType?: string }>): string {
  if (!declared)
    throw new Error(`command "${command}" is not among the tenant's commands (rosterbridge commands <tenant>): name the argument, --file key=path`);
  const files = Object.entries(properties)
    .filter(([, p]) => typeof p.contentMediaType === 'string')
    .map(([k]) => k);
  if (files.length === 1) return files[0]!;
  if (files.length === 0) throw new Error(`command "${command}" takes no file (its arguments: ${Object.keys(properties).join(', ') || 'none'})`);
  throw new Error(`command "${command}" takes several files (${files.join(', ')}): name one, --file key=path`);
}

/** A file's text for an argument: at most `maxBytes`, UTF-8; refused naming the file otherwise. */
function readTextFile(file: string, maxBytes: number): string {
  const where = path.resolve(file);
  let size: number;
  try {
    const stat = statSync(where);
    if (!stat.isFile()) throw new Error(`--file ${file}: not a file`);
    size = stat.size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`--file ${file}: no such file`, { cause: err });
    throw err;
  }
  if (size > maxBytes)
    throw new Error(`--file ${file}: ${size.toLocaleString('en-US')} bytes; a command takes at most ${maxBytes.toLocaleString('en-US')} (split the file)`);
  const bytes = readFileSync(where);
  if (bytes.length > maxBytes) throw new Error(`--file ${file}: more than ${maxBytes.toLocaleString('en-US')} bytes`);
  if (!isUtf8(bytes)) throw new Error(`--file ${file}: not UTF-8 text (save it as UTF-8)`);
  return bytes.toString('utf8');
}

/** A command's answer as text: what ran, its summary, its facts, and what it rejected. */
export function describeOutcome(outcome: CommandOutcome): string {
  const { summary, rejected, rejectedCount, ...facts } = outcome.result;
  let text = `${outcome.command} for ${outcome.tenant} (plugin ${outcome.plugin}, by ${outcome.by}, ${formatDuration(outcome.durationMs)})\n${summary}\n`;
  const lines = Object.entries(facts).map(([k, v]) => [k, factText(v)] as const);
  if (lines.length > 0) {
    const width = Math.max(...lines.map(([k]) => k.length));
    text += `\n${lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
  }
  const list = rejected ?? [];
  const total = rejectedCount ?? list.length;
  if (total > 0) {
    text += `\nrejected: ${total.toLocaleString('en-US')}${list.length < total ? ` (the first ${list.length.toLocaleString('en-US')} listed)` : ''}\n`;
    text += formatTable(
      ['line', 'code', 'reason'],
      list.map((r) => [r.line, r.code, r.reason]),
    );
  }
  return text;
}

function factText(value: unknown): string {
  // Numbers as they are: a fact may be a year or an id as well as a count.
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return value.join(', ');
  return JSON.stringify(value);
}

/** `rosterbridge commands <tenant>`: the tenant's commands and their arguments. */
export async function listCommands(options: { tenant: string; url?: string; json: boolean }): Promise<void> {
  const api = controlApi(options.url);
  const { commands } = await api.request<{ commands: CommandView[] }>('GET', `/tenants/${encodeURIComponent(options.tenant)}/commands`);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(commands, null, 2)}\n`);
    return;
  }
  if (commands.length === 0) {
    process.stdout.write(`no commands: the plugins tenant ${options.tenant} enables contribute none\n`);
    return;
  }
  process.stdout.write(
    formatTable(
      ['command', 'plugin', 'arguments', 'title'],
      commands.map((c) => [c.id, c.plugin, argumentsText(c), c.title]),
    ),
  );
}

function argumentsText(command: CommandView): string {
  const properties = (command.arguments.properties ?? {}) as Record<string, { type?: string | string[]; contentMediaType?: string }>;
  const required = new Set((command.arguments.required as string[] | undefined) ?? []);
  const names = Object.entries(properties).map(([k, p]) => {
    const type = p.contentMediaType ? `--file ${p.contentMediaType}` : [p.type ?? 'any'].flat().join('|');
    return required.has(k) ? `${k} (${type})` : `[${k} (${type})]`;
  });
  return names.join(' ') || '(none)';
}
