import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import * as path from 'node:path';

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * `rosterbridge simulate`: runs the OneRoster simulator's own CLI, which ships with the test kit,
 * as a child process. The host never imports the test kit; it only looks for the installed
 * package and launches its script, forwarding the arguments, signals and the exit code.
 */
export async function launchSimulator(args: readonly string[]): Promise<number> {
  return launchTestKitScript('simulate', 'the OneRoster simulator', path.join('simulator', 'cli.js'), args);
}

/**
 * `rosterbridge start --demo`: runs the demo (`npm run demo` without its build), which ships with
 * the test kit: the host on the embedded database with the demo tenant and a first sync.
 */
export async function launchDemo(): Promise<number> {
  return launchTestKitScript('start --demo', 'the demo', path.join('demo', 'run-demo.js'), []);
}

/** Runs `script` (under the test kit's dist) as a child process; answers its exit code. */
async function launchTestKitScript(command: string, what: string, script: string, args: readonly string[]): Promise<number> {
  let kitDir: string;
  try {
    kitDir = path.dirname(require.resolve('@rosterbridge/test-kit/package.json'));
  } catch {
    process.stderr.write(
      `rosterbridge ${command}: ${what} ships with the test kit (@rosterbridge/test-kit), which is not installed here.\n` +
        'Run it from a checkout of the Rosterbridge repository after `npm ci && npm run build`.\n',
    );
    return 1;
  }
  script = path.join(kitDir, 'dist', script);
  if (!existsSync(script)) {
    process.stderr.write(`rosterbridge ${command}: the test kit at ${kitDir} is not built (${script} is missing); run \`npm run build\` first.\n`);
    return 1;
  }
  // In a process group of its own, so that a Ctrl-C at the terminal reaches it once, through us.
  const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit', detached: true });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  return new Promise<number>((resolve) => {
    const done = (code: number): void => {
      for (const signal of FORWARDED) process.off(signal, forward);
      resolve(code);
    };
    child.once('error', (error) => {
      process.stderr.write(`rosterbridge ${command}: cannot start ${script}: ${error.message}\n`);
      done(1);
    });
    child.once('exit', (code, signal) => done(code ?? (signal === null ? 1 : 128 + (constants.signals[signal] ?? 0))));
  });
}
