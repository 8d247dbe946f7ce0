import { spawn } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { constants } from 'node:os';
import * as path from 'node:path';

const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * A tool the CLI launches but never imports: its package, and the bin it declares in its package.json.
 * The tools depend on the host, never the other way: the host finds the bin npm links into a
 * `node_modules/.bin` folder above its own (the checkout's, or the project's that installed both).
 */
interface Tool {
  readonly command: string;
  readonly what: string;
  readonly packageName: string;
  readonly bin: string;
}

const SIMULATOR: Tool = { command: 'simulate', what: 'the OneRoster simulator', packageName: '@rosterbridge/simulators', bin: 'rosterbridge-simulate' };
const DEMO: Tool = { command: 'start --demo', what: 'the demo', packageName: '@rosterbridge/demo', bin: 'rosterbridge-demo' };

/**
 * `rosterbridge simulate`: runs the OneRoster simulator's own bin (`rosterbridge-simulate`, from
 * @rosterbridge/simulators) as a child process, forwarding the arguments, signals and the exit code.
 */
export async function launchSimulator(args: readonly string[]): Promise<number> {
  return launchTool(SIMULATOR, args);
}

/**
 * `rosterbridge start --demo`: runs the demo's bin (`rosterbridge-demo`, from @rosterbridge/demo; as
 * `npm run demo` without its build): the host on the embedded database with the demo tenant and a first sync.
 */
export async function launchDemo(): Promise<number> {
  return launchTool(DEMO, []);
}

/** The first `node_modules/.bin/<bin>` (a link, even a dangling one) in `from` or a folder above it, or undefined. */
export function findToolBin(bin: string, from: string = __dirname): string | undefined {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', '.bin', bin);
    if (lstatSync(candidate, { throwIfNoEntry: false }) !== undefined) return candidate;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Runs the tool's bin with node as a child process; answers its exit code. */
async function launchTool(tool: Tool, args: readonly string[]): Promise<number> {
  const { command, what } = tool;
  const script = findToolBin(tool.bin);
  if (script === undefined) {
    process.stderr.write(
      `rosterbridge ${command}: ${what} ships as ${tool.packageName} (bin ${tool.bin}), which is not installed here.\n` +
        `Run it from a checkout of the Rosterbridge repository after \`npm ci && npm run build\`, or install ${tool.packageName} beside the host.\n`,
    );
    return 1;
  }
  if (!existsSync(script)) {
    process.stderr.write(`rosterbridge ${command}: ${tool.packageName} is not built (${tool.bin} points at a missing file); run \`npm run build\` first.\n`);
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
