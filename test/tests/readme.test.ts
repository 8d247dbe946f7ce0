import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import t from 'tap';

// The README stays true: its tenant example passes `config check`; its CLI table lists exactly the
// commands `rosterbridge --help` lists, each with options its `--help` knows; the commands of its
// CLI section that run offline (`--help`, `config check`) run, through `npx rosterbridge`.

const REPO = path.resolve(__dirname, '../..');
const LAUNCHER = path.join(REPO, 'host/bin/rosterbridge.js');
const README = readFileSync(path.join(REPO, 'README.md'), 'utf8');

/** The README's section under `heading` (up to the next heading of its level or above). */
function section(heading: string): string {
  const at = README.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`the README has no "${heading}"`);
  const level = /^#+/.exec(heading)![0].length;
  const rest = README.slice(at + heading.length + 2);
  const next = new RegExp(`^#{1,${level}} `, 'm').exec(rest);
  return next ? rest.slice(0, next.index) : rest;
}

/** The env of the commands: this one's, without any RB_* setting (the README's commands set their own). */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RB_') && !k.startsWith('ROSTERBRIDGE_')) env[k] = v;
  return { ...env, ...extra };
}

function rosterbridge(args: string[], env: NodeJS.ProcessEnv = cleanEnv()) {
  return spawnSync(process.execPath, [LAUNCHER, ...args], { cwd: REPO, env, encoding: 'utf8', timeout: 60_000 });
}

t.test("the tenant example under Configuration passes config check with the repository's plugins", async (t) => {
  const block = /```json\n([\s\S]*?)\n```/.exec(section('### A tenant'));
  t.ok(block, 'a JSON block');
  const dir = mkdtempSync(path.join(tmpdir(), 'rb-readme-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'tenants'));
  const example = JSON.parse(block![1]!) as { targets: { id: string }[] };
  t.ok(example.targets.length >= 3, 'the example has its targets');
  writeFileSync(path.join(dir, 'tenants', 'lincoln.json'), block![1]!);
  const r = rosterbridge(['config', 'check'], cleanEnv({ RB_TENANTS_DIR: path.join(dir, 'tenants'), RB_PLUGIN_DIRS: path.join(REPO, 'plugins') }));
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, /^tenant lincoln: ok$/m);
  t.match(r.stdout, /^config check passed$/m);
});

t.test('the CLI table lists the commands --help lists, each with options its --help knows', async (t) => {
  const help = rosterbridge(['--help']);
  t.equal(help.status, 0, help.stderr);
  const listed = help.stdout
    .slice(help.stdout.indexOf('\nCommands:\n'))
    .split('\n')
    .map((line) => /^ {2}([a-z][a-z-]*)\b/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help');
  t.ok(listed.length >= 17, `${listed.length} commands in --help`);

  const rows = section('## CLI')
    .split('\n')
    .map((line) => /^\| `([^`]+)` \|/.exec(line)?.[1])
    .filter((usage): usage is string => usage !== undefined);
  const words = (usage: string) => usage.split(' ').filter((w, i, all) => /^[a-z][a-z-]*$/.test(w) && all.slice(0, i).every((p) => /^[a-z][a-z-]*$/.test(p)));
  t.same([...new Set(rows.map((usage) => words(usage)[0]!))].sort(), [...listed].sort(), 'one row per command, no row without one');

  for (const usage of rows) {
    const command = words(usage);
    const r = rosterbridge([...command, '--help']);
    t.equal(r.status, 0, `${command.join(' ')} --help: ${r.stderr}`);
    t.ok(r.stdout.length > 100, `${command.join(' ')} --help prints its help`);
    for (const option of usage.match(/--[a-z][a-z-]*/g) ?? [])
      t.match(r.stdout, new RegExp(`(^|[\\s,])${option}\\b`), `${command.join(' ')} --help lists ${option}`);
  }
});

t.test("the CLI section's offline commands run through npx", async (t) => {
  const lines = [...section('## CLI').matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1]!.split('\n')).map((line) => line.replace(/\s+#.*$/, '').trim());
  const commands = lines.filter((line) => /\bnpx rosterbridge\b/.test(line) && /(--help|config check)$/.test(line));
  t.ok(commands.length >= 3, `${commands.length} commands`);
  for (const command of commands) {
    const r = spawnSync('sh', ['-c', command], { cwd: REPO, env: cleanEnv(), encoding: 'utf8', timeout: 120_000 });
    t.equal(r.status, 0, `${command}: ${r.stdout.slice(-500)}${r.stderr.slice(-500)}`);
    t.match(r.stdout, command.endsWith('config check') ? /^config check passed$/m : /^Usage: rosterbridge/m, command);
  }
});
