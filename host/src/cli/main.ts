#!/usr/bin/env node
import 'reflect-metadata';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { errorMessage, isRosterbridgeError } from '@rosterbridge/core';
import { censorApiToken, censorStandardStreams } from './cli-output';
import { registerCommandCommands } from './command-command';
import { configCheck } from './config-check';
import { newPlugin } from './new-plugin-command';
import { listPlugins } from './plugins-command';
import { launchDemo, launchSimulator } from './simulate-command';
import { HostAnswerError, listRuns, showRun } from './runs-command';
import { registerOperateCommands } from './operate-commands';
import { syncTenant } from './sync-command';
import { listTenants } from './tenants-command';
import { startHost } from './start-command';
import { ROSTERBRIDGE_VERSION } from '../version';

// Before anything is printed: no piece of the API token, or of a secret read, reaches the terminal.
censorStandardStreams();
censorApiToken();

const program = new Command()
  .name('rosterbridge')
  .description('Moves school rosters from SIS sources into product schemas.')
  .version(ROSTERBRIDGE_VERSION)
  .option('-c, --config <file>', 'host config file (JSON); env vars RB_* override it')
  .configureHelp({ showGlobalOptions: true })
  .addHelpText(
    'after',
    '\nCommands that act on a running host take --url (or env RB_URL) and a control API token in env RB_TOKEN.\n' +
      "Exit codes: 0 done; 1 failed, refused or cancelled (the API's code and message are printed); 2 a run ended partial, held or skipped.\n" +
      "`rosterbridge <command> --help` lists a command's arguments and options.",
  );

program
  .command('start')
  .summary('start the host (--demo: the demo)')
  .description(
    'start the host: database (embedded PGlite in the data dir unless RB_DATABASE_URL is set), plugins, tenants, schedules, control API; ' +
      'SIGINT or SIGTERM stops it gracefully',
  )
  .option(
    '--demo',
    'start the demo instead (as npm run demo, without its build): the demo tenant on the embedded database in .data/demo, a first sync, a local-only admin token',
  )
  .action(async (opts: { demo?: boolean }) => {
    if (opts.demo) process.exitCode = await launchDemo();
    else await startHost({ configFile: program.opts().config });
  });

program
  .command('plugins')
  .summary('list plugins, from a running host or on disk')
  .description('list plugins: live states from a running host (--url), or manifests found on disk')
  .option('--url <url>', 'control API of a running host (or env RB_URL); token from env RB_TOKEN')
  .option('--json', 'print JSON')
  .action(async (opts: { url?: string; json?: boolean }) =>
    listPlugins({ configFile: program.opts().config, url: opts.url ?? process.env.RB_URL, json: opts.json === true }),
  );

program
  .command('tenants')
  .summary('list tenants, secrets redacted')
  .description('list tenants with their effective config, secrets redacted')
  .option('--url <url>', 'control API of a running host (or env RB_URL); token from env RB_TOKEN')
  .option('--json', 'print JSON')
  .action(async (opts: { url?: string; json?: boolean }) =>
    listTenants({ configFile: program.opts().config, url: opts.url ?? process.env.RB_URL, json: opts.json === true }),
  );

const URL_OPTION = ['--url <url>', 'control API of a running host (or env RB_URL); token from env RB_TOKEN'] as const;

program
  .command('sync')
  .summary('sync a tenant on a running host and follow it')
  .description(
    'start a sync of a tenant on a running host, follow its progress and print its summary (exit 0 success, 2 partial or held, 1 failed or cancelled)',
  )
  .argument('<tenant>', 'tenant id')
  .addOption(new Option('--mode <mode>', 'full (default) or delta').choices(['full', 'delta']))
  .option('--dry-run', 'stage and report what would change; apply nothing')
  .option('--preview', "readiness preview: run every target's rules on the changes and roll them back; the real counts and issues, nothing written")
  .addOption(
    new Option('--school <id>', 'scope a --preview to this school (org sourcedId; repeatable, or comma-separated)')
      .argParser((value: string, previous: string[]) => [...previous, ...value.split(',').filter(Boolean)])
      .default([], 'the whole roster'),
  )
  .addOption(
    new Option('--target <id>', 'sync only this target (repeatable, or comma-separated)')
      .argParser((value: string, previous: string[]) => [...previous, ...value.split(',').filter(Boolean)])
      .default([], "the tenant's enabled targets"),
  )
  .option(...URL_OPTION)
  .option('--json', 'print the finished run as JSON only')
  .action(
    async (
      tenant: string,
      opts: { mode?: 'full' | 'delta'; dryRun?: boolean; preview?: boolean; school: string[]; target: string[]; url?: string; json?: boolean },
    ) =>
      syncTenant({
        tenant,
        mode: opts.mode,
        dryRun: opts.dryRun === true,
        preview: opts.preview === true,
        schools: opts.school,
        targets: opts.target,
        url: opts.url,
        json: opts.json === true,
      }),
  );

program
  .command('runs')
  .summary("a tenant's run history")
  .description("a tenant's run history on a running host, newest first: start, duration, status, mode, records read, errors, warnings, code and reason")
  .argument('<tenant>', 'tenant id')
  .option('--limit <n>', 'how many runs (1-200, default 20)', (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 200) throw new InvalidArgumentError('a whole number from 1 to 200');
    return n;
  })
  .option(...URL_OPTION)
  .option('--json', 'print JSON')
  .action(async (tenant: string, opts: { limit?: number; url?: string; json?: boolean }) =>
    listRuns({ tenant, limit: opts.limit, url: opts.url, json: opts.json === true }),
  );

program
  .command('run')
  .summary("one run's detail; --issues for its issues")
  .description(
    "one run's detail on a running host: status, timing, counts per entity and per target and entity, warnings, each target's outcome; with --issues, its record-level issues",
  )
  .argument('<id>', 'run id')
  .option('--issues', "list the run's issues")
  .addOption(new Option('--severity <severity>', 'only issues of this severity (implies --issues)').choices(['error', 'warning']))
  .option(...URL_OPTION)
  .option('--json', 'print JSON (the run; with --issues, plus an issues array)')
  .action(async (runId: string, opts: { issues?: boolean; severity?: 'error' | 'warning'; url?: string; json?: boolean }) =>
    showRun({ runId, issues: opts.issues === true, severity: opts.severity, url: opts.url, json: opts.json === true }),
  );

registerCommandCommands(program);
registerOperateCommands(program);

program
  .command('config')
  .summary('config check: validate config without starting')
  .description('configuration tools')
  .command('check')
  .description('validate host config, plugin manifests and tenant files without starting anything')
  .action(async () => {
    process.exitCode = await configCheck({ configFile: program.opts().config });
  });

program
  .command('new-plugin')
  .summary('write a new source or target plugin package')
  .description('write a new source or target plugin package (manifest, working skeleton, settings schema, README, tests) under plugins/')
  .argument('<kind>', 'source or target')
  .argument('<id>', 'the source or target id, kebab-case (the plugin is <kind>-<id>)')
  .option('--dir <folder>', 'folder to write the package in', 'plugins')
  .option('--name <display name>', 'display name')
  .action(async (kind: string, id: string, opts: { dir: string; name?: string }) => {
    const { packageDir, files, registered } = newPlugin({ kind: kind as 'source' | 'target', id, dir: opts.dir, displayName: opts.name });
    const rel = path.relative(process.cwd(), packageDir) || '.';
    process.stdout.write(
      `wrote ${rel}: ${files.join(', ')}\n${registered ? "added it to the solution build (tsconfig.json) and the lockfile's workspaces (package-lock.json)\n" : ''}` +
        `next: npx tsc -b ${rel} && npx tap ${rel}/tests\n`,
    );
  });

program
  .command('simulate')
  .summary('start the OneRoster simulator (test kit)')
  .description(
    'start the ClassLink-like OneRoster 1.1 simulator for a tenant to point at (the bin of @rosterbridge/simulators; simulate --help lists its options)',
  )
  .helpOption(false)
  .allowUnknownOption()
  .allowExcessArguments()
  .argument('[options...]', 'passed to the simulator')
  .action(async (args: string[]) => {
    process.exitCode = await launchSimulator(args);
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  const code = isRosterbridgeError(err) ? err.code : err instanceof HostAnswerError ? err.code : undefined;
  process.stderr.write(`rosterbridge: ${code ? `${code}: ` : ''}${errorMessage(err)}\n`);
  process.exitCode = 1;
});
